import Foundation
import FleetModel
@testable import FleetTUI

/// The repository's demo fleet, loaded the way `fleet` loads it.
enum TestFleet {
    static var demoDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("inventory").path
    }

    static func demoInventory() throws -> Inventory {
        try DirectoryInventoryLoader(directory: demoDirectory).load()
    }

    /// App state showing the demo at a given terminal size, after the inventory arrived.
    static func demoState(width: Int, height: Int) throws -> AppState {
        var state = AppState(source: .demo(path: demoDirectory), width: width, height: height)
        _ = Reducer.reduce(&state, .inventoryLoaded(ResolvedFleet(try demoInventory()), revalidating: false))
        return state
    }
}
