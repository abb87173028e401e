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

    /// The demo's vars tree as the Vars screen gets it (files only, no admin key).
    static func demoVars() throws -> VarsData {
        let repo = VarsRepository(clanDirectory: demoDirectory)
        return VarsRows.build(try VarsOverview.load(repository: repo, catalog: try repo.loadDirectoryCatalog(), adminRecipients: nil))
    }

    /// App state showing the demo at a given terminal size, after the inventory arrived.
    static func demoState(width: Int, height: Int) throws -> AppState {
        var state = AppState(source: .demo(path: demoDirectory), width: width, height: height)
        _ = Reducer.reduce(&state, .inventoryLoaded(ResolvedFleet(try demoInventory()), revalidating: false))
        _ = Reducer.reduce(&state, .varsLoaded(try demoVars()))
        return state
    }
}
