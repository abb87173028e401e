import FleetModel

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
