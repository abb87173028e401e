import SnapshotTesting
import XCTest
@testable import FleetTUI

/// Snapshots of the screens built on the inventory model: Services, Network, the Fleet detail pane.
final class InventoryScreensSnapshotTests: XCTestCase {
    func testServicesScreen() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .key(.char("2")))
        let text = AppView.render(s).text()
        XCTAssertTrue(text.contains("zerotier"), text)
        assertSnapshot(of: text, as: .lines)
    }

    func testNetworkScreen() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        _ = Reducer.reduce(&s, .key(.char("5")))
        let text = AppView.render(s).text()
        XCTAssertTrue(text.contains("controller cinnabar"), text)
        assertSnapshot(of: text, as: .lines)
    }

    func testFleetDetailPane() throws {
        var s = try TestFleet.demoState(width: 140, height: 40)
        _ = Reducer.reduce(&s, .key(.char("j")))
        _ = Reducer.reduce(&s, .key(.char("j")))
        _ = Reducer.reduce(&s, .key(.enter))
        let text = AppView.render(s).text()
        XCTAssertTrue(text.contains("zerotier/controller"), text)
        XCTAssertTrue(text.contains("openclaw/default"), text)
        assertSnapshot(of: text, as: .lines)
    }

    func testFleetWide160() throws {
        let s = try TestFleet.demoState(width: 160, height: 14)
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
    }
}
