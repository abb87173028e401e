import FleetModel
import Logging

/// What the dashboard's background work reports, in the log file (`FleetLog`): loads, failures and
/// error toasts. Never a revealed secret or a prompt; deploy and vars runs log themselves in FleetModel.
enum UILog {
    static let logger = FleetLog.logger("fleet.ui")

    static func record(_ event: Event) {
        switch event {
        case .inventoryLoaded(let fleet, let revalidating):
            logger.debug("inventory loaded: \(fleet.inventory.machines.count) machines\(revalidating ? " (revalidating)" : "")\(fleet.addressesCached ? " (addresses from the cache)" : "")\(memory)")
        case .fleetCompleted(let fleet, _):
            logger.debug("addresses of \(fleet.inventory.machines.count) machines \(fleet.addressesFromCache ? "from the cache" : "read")\(memory)")
        case .varsLoaded: logger.debug("vars loaded\(memory)")
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

    /// "; rss X MB, peak Y MB" from /proc/self/status (VmRSS, VmHWM): with `--log-level debug`, the
    /// stages of a start show where the dashboard's peak memory is reached. Empty where unavailable.
    static var memory: String {
        guard let bytes = FileBytes.read("/proc/self/status") else { return "" }
        var found: [Substring: Int] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") || line.hasPrefix("VmHWM:") {
            let parts = line.split { $0 == " " || $0 == "\t" }
            if parts.count >= 2, let kb = Int(parts[1]) { found[parts[0].dropLast()] = kb }
        }
        guard let rss = found["VmRSS"], let peak = found["VmHWM"] else { return "" }
        func mb(_ kb: Int) -> String { let t = (kb * 10 + 512) / 1024; return "\(t / 10).\(t % 10)" }
        return "; rss \(mb(rss)) MB, peak \(mb(peak)) MB"
    }
}
