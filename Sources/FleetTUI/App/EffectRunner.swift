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
                q.post(InventoryLoading.load(source))
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

/// Loading an inventory as an event, shared by the UI and the headless CLI.
enum InventoryLoading {
    static func load(_ source: InventorySource) -> Event {
        do {
            return .inventoryLoaded(try loadSync(source))
        } catch {
            return .inventoryFailed(String(describing: error))
        }
    }

    static func loadSync(_ source: InventorySource) throws -> Inventory {
        switch source {
        case .demo(let path), .directory(let path):
            return try DirectoryInventoryLoader(directory: path).load()
        case .flake(let path):
            throw InventoryError(file: path + "/flake.nix", path: "",
                                 message: "reading a clan flake needs nix evaluation, which this build does not do yet; use --inventory DIR")
        }
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
