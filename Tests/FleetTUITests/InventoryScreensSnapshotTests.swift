import Foundation
import FleetModel
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
        let s = try TestFleet.demoState(width: 160, height: 16)
        assertSnapshot(of: AppView.render(s).text(), as: .lines)
    }
}

final class VarsScreenSnapshotTests: XCTestCase {
    func testVarsScreen() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .key(.char("4")))
        let text = AppView.render(s).text()
        XCTAssertTrue(text.contains("missing value"), text)
        assertSnapshot(of: text, as: .lines)
    }

    func testVarsShowsEveryStatusKind() throws {
        let data = try TestFleet.demoVars()
        let kinds = Set(data.rows.map(\.status))
        for k: VarsRow.Status in [.ok, .missing, .unfixed, .outdated, .orphan] { XCTAssertTrue(kinds.contains(k), "\(k)") }
        XCTAssertTrue(data.rows.contains { $0.text.contains("gcp-vm") || ($0.machine == "gcp-vm") })
    }

    func testRotateAsksForConfirmationWithDependants() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .key(.char("4")))
        _ = Reducer.reduce(&s, .key(.char("j")))
        let effects = Reducer.reduce(&s, .key(.char("R")))
        guard case .varsPlan(let intent)? = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(intent.kind, .rotate)
        XCTAssertEqual(intent.machine, "cinnabar")
    }

    func testHiddenPromptNeverRendersItsText() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        s.overlay = .varsPrompt(VarsPromptState(title: "g/p", question: "Password?", kind: .hidden))
        for c in "hunter2" { _ = Reducer.reduce(&s, .key(.char(c))) }
        let text = AppView.render(s).text()
        XCTAssertFalse(text.contains("hunter2"))
        XCTAssertTrue(text.contains("•••••••"))
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [.varsPromptAnswer("hunter2")])
    }

    func testFinishedRotationOffersDeploy() throws {
        var s = try TestFleet.demoState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .varsJobStarted("rotate x"))
        XCTAssertEqual(Reducer.reduce(&s, .varsJobFinished(ok: true, affectedMachines: ["cinnabar"], message: "done")), [.loadVars])
        guard case .confirm(let d)? = s.overlay else { return XCTFail("no deploy offer") }
        XCTAssertEqual(d.onConfirm, [.deploy(machines: ["cinnabar"])])
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("n"))), [])
    }
}

final class DeployScreenTests: XCTestCase {
    func events(_ s: inout AppState) {
        let t = Date(timeIntervalSince1970: 0)
        func post(_ host: String, _ stage: DeployStage?, _ kind: DeployEvent.Kind) {
            _ = Reducer.reduce(&s, .deployEvent(DeployEvent(host: host, stage: stage, kind: kind, time: t)))
        }
        post("", nil, .runStarted(id: "d-1", kind: .deploy, hosts: ["cinnabar", "electrum", "galena"]))
        post("cinnabar", .resolve, .resolved(DeployPlan(target: "root@cinnabar.zt", targetSource: "deploy.targetHost",
                                                        build: BuildPlacement(kind: .target, source: "default"), activation: "boot, then switch")))
        post("galena", .resolve, .resolved(DeployPlan(target: "root@galena.zt", targetSource: "deploy.targetHost",
                                                      build: BuildPlacement(kind: .host("root@cinnabar"), source: "deploy.buildHost"), activation: "boot, then switch")))
        post("cinnabar", .build, .stageStarted(eta: 10))
        post("cinnabar", .build, .progress(fraction: 0.5, message: "built 1/2"))
        post("electrum", .connect, .stageStarted(eta: nil))
        post("electrum", .connect, .stageFinished(.failed(DeployFailure(host: "electrum", stage: .connect, message: "No route to host")), seconds: 3))
        post("electrum", nil, .hostFinished(HostResult(host: "electrum", target: nil,
            outcome: .failed(DeployFailure(host: "electrum", stage: .connect, message: "No route to host")),
            systemPath: nil, previousSystem: nil, generation: nil, seconds: 3, stages: [])))
    }

    func testDeployScreenShowsStagesProgressAndErrors() throws {
        var s = try TestFleet.demoState(width: 120, height: 20)
        events(&s)
        XCTAssertEqual(s.tab, .deploy)
        XCTAssertTrue(s.deployRunning)
        let text = AppView.render(s).text()
        XCTAssertTrue(text.contains("[electrum] connect failed: No route to host"), text)
        XCTAssertTrue(text.contains("BUILDS ON") && text.contains("root@cinnab"), text)
        assertSnapshot(of: text, as: .lines)
    }

    func testRunFinishedEnablesRetryOfFailedHosts() throws {
        var s = try TestFleet.demoState(width: 120, height: 20)
        events(&s)
        let summary = DeploySummary(id: "d-1", kind: .deploy, hosts: [
            HostResult(host: "electrum", target: nil, outcome: .failed(DeployFailure(host: "electrum", stage: .connect, message: "x")),
                       systemPath: nil, previousSystem: nil, generation: nil, seconds: 3, stages: []),
        ], seconds: 4, cancelled: false)
        XCTAssertEqual(Reducer.reduce(&s, .deployEvent(DeployEvent(host: "", stage: nil, kind: .runFinished(summary)))), [.loadHistory(allFleets: false)])
        XCTAssertFalse(s.deployRunning)
        XCTAssertEqual(s.deploy.failedHosts, ["electrum"])
        _ = Reducer.reduce(&s, .key(.char("R")))
        guard case .confirm(let d)? = s.overlay else { return XCTFail("no retry confirmation") }
        XCTAssertEqual(d.onConfirm, [.deploy(machines: ["electrum"])])
    }

    func testEnterOpensTheHostLog() throws {
        var s = try TestFleet.demoState(width: 120, height: 30)
        events(&s)
        _ = Reducer.reduce(&s, .deployEvent(DeployEvent(host: "cinnabar", stage: .build, kind: .log("building '/nix/store/abc-system.drv'"))))
        _ = Reducer.reduce(&s, .key(.enter))
        XCTAssertEqual(s.deploy.logHost, "cinnabar")
        XCTAssertTrue(AppView.render(s).text().contains("building '/nix/store/abc-system.drv'"))
        _ = Reducer.reduce(&s, .key(.escape))
        XCTAssertNil(s.deploy.logHost)
    }
}
