@testable import FleetModel
import XCTest
@testable import FleetTUI

/// Issue 16's reducer rules, without a terminal: rollback names from → to or is not offered, the
/// deploy question warns of vars, sorting keeps the cursor's machine, the dry run and the palette.
final class UXReducerTests: XCTestCase {
    func press(_ s: inout AppState, _ keys: Key...) -> [Effect] {
        var effects: [Effect] = []
        for k in keys { effects += Reducer.reduce(&s, .key(k)) }
        return effects
    }

    func status(_ m: String, generation: Int?, previous: Int?, running: String? = "/nix/store/x") -> HostStatus {
        HostStatus(machine: m, target: nil, reachability: .reachable(seconds: 0.1), runningSystem: running, generation: generation,
                   previousGeneration: previous, flakeSystem: nil, evaluationError: nil, checkedAt: Date())
    }

    func testRollbackNamesGenerationsAndLeavesOutHostsWithNothingToRollBackTo() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        s.hostStatus["cinnabar"] = status("cinnabar", generation: 3, previous: 2)
        s.hostStatus["electrum"] = status("electrum", generation: 1, previous: nil)
        Reducer.offerRollback(&s, ["cinnabar", "electrum"])
        guard case .confirm(let d)? = s.overlay else { return XCTFail("no dialog") }
        XCTAssertEqual(d.title, "Roll back cinnabar?")
        XCTAssertTrue(d.lines.contains("cinnabar: generation 3 → 2"), "\(d.lines)")
        XCTAssertTrue(d.lines.joined().contains("electrum (generation 1 is the first)"), "\(d.lines)")
        XCTAssertEqual(d.onConfirm, [.rollback(machines: ["cinnabar"])])

        s.overlay = nil
        s.hostStatus["galena"] = status("galena", generation: nil, previous: nil, running: nil)
        Reducer.offerRollback(&s, ["galena"])
        XCTAssertNil(s.overlay, "nothing to roll back to: no dialog")
        XCTAssertTrue(s.toasts.last?.text.contains("galena (never deployed)") == true)
    }

    func testDeployQuestionWarnsOfVarsAndOffersToGenerate() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        s.vars = VarsData(rows: [], health: ["cinnabar": VarsHealthSummary(summary: "1 missing", ok: false)], hasDefinitions: true)
        let d = Reducer.deployConfirmation(s, ["cinnabar"])
        XCTAssertTrue(d.lines.contains { $0.contains("Vars need attention: cinnabar (1 missing)") }, "\(d.lines)")
        XCTAssertEqual(d.alternative?.key, "g")
        XCTAssertEqual(d.alternative?.effects, [.varsPlan(VarsIntent(kind: .generate, machine: "cinnabar", generator: nil, machines: ["cinnabar"]))])
    }

    /// `d` pressed before the vars (or the first probe) answered: the open question gains their
    /// warnings and the offer to generate when they arrive, keeping the highlighted choice.
    func testOpenDeployQuestionFollowsVarsAndProbesThatArriveLater() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        s.vars = nil
        s.overlay = .confirm(Reducer.deployConfirmation(s, ["cinnabar"]))
        _ = press(&s, .down)                                           // cancel highlighted
        _ = Reducer.reduce(&s, .varsLoaded(VarsData(rows: [], health: ["cinnabar": VarsHealthSummary(summary: "1 missing", ok: false)],
                                                    hasDefinitions: true)))
        guard case .confirm(let d)? = s.overlay else { return XCTFail("the question closed") }
        XCTAssertEqual(d.alternative?.key, "g")
        XCTAssertTrue(d.cancelSelected)
        var down = status("cinnabar", generation: 1, previous: nil)
        down.reachability = .unreachable("ssh: no route")
        _ = Reducer.reduce(&s, .hostStatus(down))
        guard case .confirm(let d2)? = s.overlay else { return XCTFail("the question closed") }
        XCTAssertTrue(d2.lines.contains("Unreachable now, will fail at connect: cinnabar (ssh: no route)"), "\(d2.lines)")
    }

    /// The question after a generate ("Deploy the affected machines now?") is not the deploy
    /// question: the vars reload that follows the generate must not replace its text (CI saw it do so).
    func testVarsReloadKeepsTheDeployAfterGenerateQuestion() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        s.varsJob = VarsJob(title: "generate radicle")
        let effects = Reducer.reduce(&s, .varsJobFinished(ok: true, affectedMachines: ["cinnabar"], message: "generated 1 generator"))
        XCTAssertEqual(effects, [.loadVars])
        _ = Reducer.reduce(&s, .varsLoaded(VarsData(rows: [], health: ["cinnabar": VarsHealthSummary(summary: "ok", ok: true)],
                                                    hasDefinitions: true)))
        guard case .confirm(let d)? = s.overlay else { return XCTFail("the question closed") }
        XCTAssertEqual(d.title, "Deploy the affected machines now?")
        XCTAssertEqual(d.onConfirm, [.deploy(machines: ["cinnabar"])])
    }

    func testSortKeepsTheCursorOnItsMachineAndInverts() throws {
        var s = try TestFleet.demoState(width: 160, height: 30)
        _ = press(&s, .char("j"), .char("j"))
        let selected = s.selectedMachine?.name
        _ = press(&s, .char(">"))            // first sort: by the first column, NAME
        XCTAssertEqual(s.fleetSort?.column, .name)
        XCTAssertEqual(s.selectedMachine?.name, selected)
        _ = press(&s, .char("I"))
        XCTAssertEqual(s.fleetSort?.descending, true)
        XCTAssertEqual(s.machines[s.fleetRows[0]].name, "stibnite")
        XCTAssertEqual(s.selectedMachine?.name, selected)
    }

    /// A flake's evaluated config resolves targets the inventory alone has not (a darwin laptop, for
    /// which clan sets no domain): the TARGET column, the detail pane and the sort show the
    /// deploy's; a machine the resolution does not cover keeps the inventory's own.
    func testConfigTargetsReplaceTheInventoryGuess() throws {
        var s = try TestFleet.demoState(width: 200, height: 30)
        XCTAssertNil(s.deployTarget(of: "stibnite"))
        let t = DeployTarget(address: "crs58@stibnite.local", source: .machineConfig)
        let covered = Set(s.machines.map(\.name)).subtracting(["cinnabar"])
        _ = Reducer.reduce(&s, .configTargetsResolved(ResolvedTargets(targets: ["stibnite": t], machines: covered)))
        XCTAssertEqual(s.deployTarget(of: "stibnite"), t)
        XCTAssertNil(s.deployTarget(of: "electrum"), "covered, and the config gives it none")
        XCTAssertEqual(s.deployTarget(of: "cinnabar"), s.fleet?.target(of: "cinnabar"), "not covered: the inventory's")
        let screen = AppView.render(s).text()
        XCTAssertTrue(screen.contains("crs58@stibnite.local (c"), screen)
        let detail = MachineDetailView.lines(try XCTUnwrap(s.inventory?.machines["stibnite"]), fleet: s.fleet,
                                             target: .some(s.deployTarget(of: "stibnite")), ctx: RenderContext(theme: s.theme, glyphs: s.glyphs))
        XCTAssertTrue(detail.contains { $0.0.contains("crs58@stibnite.local") }, "\(detail.map(\.0))")
    }

    func testColumnPriorities() {
        let narrow = FleetColumn.layout(width: 70, wide: false, secretsWidth: 20).map(\.0)
        XCTAssertTrue([.name, .status, .secrets].allSatisfy(narrow.contains), "\(narrow)")
        XCTAssertFalse(narrow.contains(.description))
        let wide = FleetColumn.layout(width: 160, wide: false, secretsWidth: 20)
        XCTAssertEqual(wide.first { $0.0 == .secrets }.map { if case .fixed(let w) = $0.1.sizing { return w } else { return 0 } }, 20)
    }

    func testDryRunKeyAndPalette() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        XCTAssertEqual(press(&s, .char("D")), [.dryRun(machines: [s.selectedMachine!.name])])
        XCTAssertEqual(Palette.parse("dry-run @peer"), .success(.dryRun(targets: ["@peer"])))
        XCTAssertEqual(Palette.parse("rollback galena"), .success(.rollback(targets: ["galena"])))
        XCTAssertEqual(Palette.parse("retry"), .success(.retry))
    }

    func testTabAfterDeployAtListsTagsInsteadOfTakingTheFirst() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        _ = press(&s, .char(":"))
        for c in "deploy @" { _ = press(&s, .char(c)) }
        _ = press(&s, .tab)
        guard case .palette(let p)? = s.overlay else { return XCTFail("palette closed") }
        XCTAssertEqual(p.input, "deploy @")
        XCTAssertGreaterThan(p.completions.count, 1)
        XCTAssertTrue(p.completions.allSatisfy { $0.hasPrefix("@") })
    }

    func testBackspaceOnAnEmptyFilterKeepsItOpen() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        _ = press(&s, .char("/"), .backspace)
        XCTAssertTrue(s.filterEditing)
    }
}
