import FleetModel
import Foundation

/// Performs effects off the UI thread and posts their results back as events.
final class EffectRunner {
    private let queue: EventQueue

    init(queue: EventQueue) { self.queue = queue }

    func perform(_ effect: Effect) {
        switch effect {
        case .quit:
            break  // the loop sees `running == false`
        case .loadInventory(let source):
            let q = queue
            Task.detached {
                // A flake yields a cached or offline result first, then the evaluated one.
                do {
                    for try await snap in InventoryLoader(source: source).updates() {
                        q.post(.inventoryLoaded(ResolvedFleet(snap.inventory), revalidating: snap.isRevalidating))
                    }
                } catch {
                    q.post(.inventoryFailed(String(describing: error)))
                }
            }
        case .loadTheme(let name):
            let q = queue
            Task.detached {
                let (theme, warning) = ThemeCatalog.load(name)
                q.post(.themeLoaded(theme, warning: warning))
            }
        case .savePaletteHistory(let lines):
            Task.detached { PaletteHistoryStore.save(lines) }
        case .deploy, .cancelDeploy, .retryFailed, .rollback, .varsGenerate, .varsRotate, .varsFix:
            queue.post(.toast("this build has no deploy/vars engine yet", .error))
        }
    }
}

/// Loading an inventory for the headless CLI: the authoritative result (a flake is evaluated).
enum InventoryLoading {
    static func loadSync(_ source: InventorySource) throws -> Inventory {
        try blockingAwait { try await InventoryLoader(source: source).loadFresh() }
    }
}

/// The palette's command history, kept between runs in `$XDG_STATE_HOME/fleet/palette-history`.
enum PaletteHistoryStore {
    static var path: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? "/tmp") + "/.local/state")
        return base + "/fleet/palette-history"
    }

    static func load() -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init).suffix(100)
    }

    static func save(_ lines: [String]) {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
