import FleetModel
import Logging

/// What the dashboard's background work reports, in the log file (`FleetLog`): loads, failures and
/// error toasts. Never a revealed secret or a prompt; deploy and vars runs log themselves in FleetModel.
enum UILog {
    static let logger = FleetLog.logger("fleet.ui")

    static func record(_ event: Event) {
        switch event {
        case .inventoryLoaded(let fleet, let revalidating):
            logger.debug("inventory loaded: \(fleet.inventory.machines.count) machines\(revalidating ? " (revalidating)" : "")\(fleet.addressesCached ? " (addresses from the cache)" : "")")
        case .fleetCompleted(let fleet, _):
            logger.debug("addresses of \(fleet.inventory.machines.count) machines \(fleet.addressesFromCache ? "from the cache" : "read")")
        case .inventoryFailed(let message): logger.warning("inventory failed: \(message)")
        case .themeLoaded(_, let warning?): logger.warning("theme: \(warning)")
        case .toast(let message, .error): logger.warning("\(message)")
        case .varsFailed(let message): logger.warning("vars failed: \(message)")
        case .varsJobFinished(let ok, _, let message):
            if ok { logger.info("vars job done: \(message)") } else { logger.warning("vars job failed: \(message)") }
        case .historyFailed(let message): logger.warning("history: \(message)")
        case .terminate(let signal): logger.notice("terminating on signal \(signal)")
        default: break
        }
    }
}
