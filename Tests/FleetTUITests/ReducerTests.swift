import XCTest
import FleetModel
@testable import FleetTUI

final class ReducerTests: XCTestCase {
    func testCursorStaysInRange() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .key(.up))
        XCTAssertEqual(s.cursor(.fleet).row, 0)
        for _ in 0..<20 { _ = Reducer.reduce(&s, .key(.down)) }
        XCTAssertEqual(s.cursor(.fleet).row, 7)
        _ = Reducer.reduce(&s, .key(.char("g")))
        XCTAssertEqual(s.cursor(.fleet).row, 0)
    }

    func testQuitStopsAndAsksToQuit() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("q"))), [])
        XCTAssertFalse(s.running)
    }

    func testSignalEndsWithItsNumber() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .terminate(signal: 15))
        XCTAssertFalse(s.running)
        XCTAssertEqual(s.exitSignal, 15)
    }

    func testReloadKeepsCursorOnSameMachine() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .key(.char("G")))  // stibnite
        var inv = try TestFleet.demoInventory()
        inv.machines.removeValue(forKey: "argentum")
        _ = Reducer.reduce(&s, .inventoryLoaded(ResolvedFleet(inv), revalidating: false))
        XCTAssertEqual(s.selectedMachine?.name, "stibnite")
    }

    func testTabKeys() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .key(.char("3")))
        XCTAssertEqual(s.tab, .deploy)
        _ = Reducer.reduce(&s, .key(.tab))
        XCTAssertEqual(s.tab, .vars)
        _ = Reducer.reduce(&s, .key(.backTab))
        _ = Reducer.reduce(&s, .key(.backTab))
        _ = Reducer.reduce(&s, .key(.backTab))
        XCTAssertEqual(s.tab, .fleet)
        _ = Reducer.reduce(&s, .key(.backTab))
        XCTAssertEqual(s.tab, .history)
    }
}

final class TagEditReducerTests: XCTestCase {
    func testTagPromptProducesEdit() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .key(.char("j")))
        _ = Reducer.reduce(&s, .key(.char("t")))
        guard case .tagEdit(let t)? = s.overlay else { return XCTFail("no tag prompt") }
        XCTAssertEqual(t.machine, "blackphos")
        XCTAssertEqual(t.currentTags, ["workstation", "laptop", "fleet"])
        for c in "backup -fleet" { _ = Reducer.reduce(&s, .key(.char(c))) }
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [.editTags(machine: "blackphos", add: ["backup"], remove: ["fleet"])])
        XCTAssertNil(s.overlay)
    }

    func testPristineDemoIsReadOnly() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-cache-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let env = ["XDG_CACHE_HOME": cache]
        let demo = try InventorySource.demoDirectory(environment: env)
        XCTAssertThrowsError(try InventorySource.demo(path: demo).writableDirectory(environment: env))
        XCTAssertEqual(try InventorySource.demo(path: "/tmp/demo-copy").writableDirectory(environment: env), "/tmp/demo-copy")
    }
}

/// `AppState ==` is derived by the compiler, so every field counts (the hand-written one left out
/// the key map, the machines and the clock, and a new field could silently never redraw).
final class AppStateEqualityTests: XCTestCase {
    func testEveryFieldCountsAndTheLoadedFleetComparesByIdentity() throws {
        let a = try TestFleet.demoState(width: 100, height: 30)
        var b = a
        XCTAssertEqual(a, b)
        b.keyMap.rebind(.moveDown, to: [.char("n")])
        XCTAssertNotEqual(a, b, "a key map change redraws (the help and status bar show it)")
        b = a
        b.themeNames.append("light")
        XCTAssertNotEqual(a, b)
        // A fresh load of the same inventory is a new LoadedFleet: it redraws once.
        b = a
        _ = Reducer.reduce(&b, .inventoryLoaded(ResolvedFleet(a.inventory!), revalidating: false))
        XCTAssertNotEqual(a.loaded, b.loaded)
        XCTAssertEqual(a.loaded, a.loaded)
    }
}

/// The first frame waits only for the first screen's addresses: the rest, the search index, the
/// vars load and the probes follow `fleetCompleted` (docs/PERFORMANCE.md, first frame).
final class FirstFrameReducerTests: XCTestCase {
    func testFirstScreenFleetDefersVarsProbesAndSearchIndex() throws {
        let inv = try TestFleet.demoInventory()
        var s = AppState(source: .demo(path: TestFleet.demoDirectory), width: 160, height: 40)
        let first = ResolvedFleet.firstScreen(inv, rows: 3)
        let effects0 = Reducer.reduce(&s, .inventoryLoaded(first, revalidating: false))
        XCTAssertEqual(effects0, [.completeFleet(try XCTUnwrap(s.loaded))], "only the rest of the fleet, which starts after the frame")
        XCTAssertEqual(s.machines.count, inv.machines.count, "every row is there; only addresses wait")
        XCTAssertNil(s.loaded?.searchIndex)
        // Rows below the first screen say their address is coming, not that there is none.
        let complete = first.completed()
        for (i, m) in inv.machineList.enumerated() {
            if i < 3 {
                XCTAssertEqual(s.fleet?.target(of: m.name), complete.target(of: m.name), m.name)
            } else {
                XCTAssertEqual(FleetView.addressPlaceholder(m, s.fleet), "…", m.name)
            }
        }
        let cinnabar = try XCTUnwrap(complete.target(of: inv.machineList[2].name)?.address)
        XCTAssertTrue(AppView.render(s).text().contains(cinnabar), "a first-screen row shows its target")

        // A filter typed before the index arrives matches exactly as it will with the index.
        _ = Reducer.reduce(&s, .key(.char("/")))
        for ch in "darwin" { _ = Reducer.reduce(&s, .key(.char(ch))) }
        let matched = s.fleetRows

        let effects = Reducer.reduce(&s, .fleetCompleted(complete, searchIndex: FleetSearch.index(complete)))
        XCTAssertEqual(effects.count, 2)
        XCTAssertEqual(effects.first, .loadVars)
        guard case .startProbes(let loaded)? = effects.last else { return XCTFail("no probes: \(effects)") }
        XCTAssertTrue(loaded.fleet.isComplete, "the probes get every target")
        XCTAssertEqual(s.loaded?.searchIndex?.count, inv.machines.count)
        XCTAssertEqual(s.fleetRows, matched)
        XCTAssertFalse(matched.isEmpty)
        XCTAssertEqual(FleetView.addressPlaceholder(inv.machineList[7], s.fleet), "-", "no target: now known")
        // Once only.
        XCTAssertEqual(Reducer.reduce(&s, .fleetCompleted(complete, searchIndex: FleetSearch.index(complete))), [])
    }

    func testCompletionOfAReplacedInventoryIsDropped() throws {
        let inv = try TestFleet.demoInventory()
        var s = AppState(source: .demo(path: TestFleet.demoDirectory), width: 160, height: 40)
        let old = ResolvedFleet.firstScreen(inv, rows: 2)
        _ = Reducer.reduce(&s, .inventoryLoaded(old, revalidating: false))
        let newer = ResolvedFleet.firstScreen(inv, rows: 2)
        _ = Reducer.reduce(&s, .inventoryLoaded(newer, revalidating: false))
        let stale = old.completed()
        XCTAssertEqual(Reducer.reduce(&s, .fleetCompleted(stale, searchIndex: FleetSearch.index(stale))), [])
        XCTAssertFalse(s.fleet?.isComplete ?? true)
        let fresh = newer.completed()
        XCTAssertEqual(Reducer.reduce(&s, .fleetCompleted(fresh, searchIndex: FleetSearch.index(fresh))).count, 2)
        XCTAssertTrue(s.fleet?.isComplete ?? false)
    }
}
