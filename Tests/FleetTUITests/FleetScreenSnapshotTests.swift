import SnapshotTesting
import XCTest
@testable import FleetTUI

/// Text snapshots of the Fleet screen. Re-record after an intended change with
/// `SNAPSHOT_TESTING_RECORD=all swift test --filter FleetScreenSnapshotTests`.
final class FleetScreenSnapshotTests: XCTestCase {
    func testFleetScreen100x30() throws {
        let state = try TestFleet.demoState(width: 100, height: 30)
        assertSnapshot(of: AppView.render(state).text(), as: .lines)
    }

    func testFleetScreen60x15() throws {
        var state = try TestFleet.demoState(width: 60, height: 15)
        _ = Reducer.reduce(&state, .key(.char("j")))
        _ = Reducer.reduce(&state, .key(.char("j")))
        assertSnapshot(of: AppView.render(state).text(), as: .lines)
    }

    func testTooSmall40x10() throws {
        let state = try TestFleet.demoState(width: 40, height: 10)
        assertSnapshot(of: AppView.render(state).text(), as: .lines)
    }

    func testCursorScrollsAtSmallHeight() throws {
        var state = try TestFleet.demoState(width: 60, height: 15)
        _ = Reducer.reduce(&state, .key(.char("G")))
        let text = AppView.render(state).text()
        XCTAssertTrue(text.contains("▶ stibnite"), text)
        XCTAssertTrue(text.contains("8/8"), text)
    }
}
