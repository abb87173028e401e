import XCTest
@testable import FleetTUI

final class PaletteTests: XCTestCase {
    let ctx = PaletteContext(machines: ["cinnabar", "electrum"], tags: ["peer", "nixos"], generators: ["openssh", "zerotier"], themes: ["default", "light"])

    func testParse() {
        XCTAssertEqual(try Palette.parse("q").get(), .quit)
        XCTAssertEqual(try Palette.parse("deploy @peer cinnabar").get(), .deploy(targets: ["@peer", "cinnabar"]))
        XCTAssertEqual(try Palette.parse("vars rotate openssh cinnabar").get(), .varsRotate(generator: "openssh", machine: "cinnabar"))
        XCTAssertEqual(try Palette.parse("theme light").get(), .theme("light"))
        XCTAssertEqual(try Palette.parse("services").get(), .tab(.services))
        XCTAssertThrowsError(try Palette.parse("vars rotate").get())
        XCTAssertThrowsError(try Palette.parse("frobnicate").get())
    }

    func testCompletions() {
        XCTAssertEqual(Palette.completions(for: "dep", context: ctx), ["deploy"])
        XCTAssertEqual(Palette.completions(for: "deploy @", context: ctx), ["@peer", "@nixos"])
        XCTAssertEqual(Palette.completions(for: "theme l", context: ctx), ["light"])
        XCTAssertEqual(Palette.completions(for: "vars rotate z", context: ctx), ["zerotier"])
        XCTAssertEqual(Palette.apply("deploy", to: "dep"), "deploy ")
    }

    func testResolveTargets() {
        let ms = [(name: "a", tags: ["x"]), (name: "b", tags: ["y"]), (name: "c", tags: ["x", "y"])]
        XCTAssertEqual(try Palette.resolveTargets(["@x"], machines: ms).get(), ["a", "c"])
        XCTAssertEqual(try Palette.resolveTargets(["b", "@x"], machines: ms).get(), ["a", "b", "c"])
        XCTAssertThrowsError(try Palette.resolveTargets(["@nope"], machines: ms).get())
    }

    func testPaletteHistoryAndRun() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .key(.char(":")))
        for c in "mark @gpu" { _ = Reducer.reduce(&s, .key(.char(c))) }
        let effects = Reducer.reduce(&s, .key(.enter))
        XCTAssertEqual(s.marks, ["scheelite"])
        XCTAssertEqual(effects, [.savePaletteHistory(["mark @gpu"])])
        _ = Reducer.reduce(&s, .key(.char(":")))
        _ = Reducer.reduce(&s, .key(.up))
        guard case .palette(let p)? = s.overlay else { return XCTFail() }
        XCTAssertEqual(p.input, "mark @gpu")
    }

    func testMouseClickSelectsTabAndRow() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        let services = Chrome.tabLayout(width: 100).first { $0.tab == .services }!
        _ = Reducer.reduce(&s, .key(.mouseClick(x: services.x + 2, y: 1)))
        XCTAssertEqual(s.tab, .services)
        _ = Reducer.reduce(&s, .key(.char("1")))
        _ = Reducer.reduce(&s, .key(.mouseClick(x: 5, y: Layout.bodyTop + 4)))
        XCTAssertEqual(s.selectedMachine?.name, "galena")
        _ = Reducer.reduce(&s, .key(.wheelDown(x: 5, y: 10)))
        XCTAssertEqual(s.selectedMachine?.name, "stibnite")
    }

    func testQuitDuringDeployAsks() throws {
        var s = try TestFleet.demoState(width: 100, height: 30)
        s.deployRunning = true
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("q"))), [])
        XCTAssertTrue(s.running)
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("y"))), [.cancelDeploy])
        XCTAssertFalse(s.running)
    }
}

final class ScreenFilterTests: XCTestCase {
    /// The reducer counts Services rows without resolving members when no filter is set: the count
    /// must be the rows' count, with and without a filter.
    func testServicesRowCountIsTheRowsCount() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        XCTAssertGreaterThan(ServicesRows.rows(s).count, 2)
        XCTAssertEqual(ServicesRows.count(s), ServicesRows.rows(s).count)
        _ = Reducer.reduce(&s, .key(.char("2")))
        _ = Reducer.reduce(&s, .key(.char("/")))
        for c in "zerotier" { _ = Reducer.reduce(&s, .key(.char(c))) }
        XCTAssertEqual(ServicesRows.count(s), 2)
        XCTAssertEqual(ServicesRows.count(s), ServicesRows.rows(s).count)
    }

    func testFilterAppliesToServicesAndNetwork() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .key(.char("2")))
        _ = Reducer.reduce(&s, .key(.char("/")))
        for c in "zerotier" { _ = Reducer.reduce(&s, .key(.char(c))) }
        XCTAssertEqual(ServicesRows.rows(s).map(\.ref.description), ["zerotier/controller", "zerotier/peer"])
        _ = Reducer.reduce(&s, .key(.enter))
        _ = Reducer.reduce(&s, .key(.char("5")))
        _ = Reducer.reduce(&s, .key(.char("/")))
        for c in "controller" { _ = Reducer.reduce(&s, .key(.char(c))) }
        XCTAssertEqual(NetworkRows.rows(s).map(\.member.machine), ["cinnabar"])
    }
}
