import XCTest
@testable import FleetModel

/// A machine clan has no way to connect to (`get_best_remote` raises "Could not find any way to
/// connect to machine …", clan_lib/network/network.py) fails at its resolve stage — in a dry run
/// too, which still previews the other stages — while the other hosts of the run are unaffected.
/// Nothing is built (`nothingToBuild`); the dry run's other host is this machine (`localhost`,
/// only its facts are read).
final class DeployNoTargetTests: XCTestCase {
    func run(_ kind: DeployKind, _ names: [String]) async -> DeploySummary {
        var o = DeployOptions(kind: kind, builder: .flake("path:/nonexistent"))
        o.nothingToBuild = "no flake in this test"
        o.targetOverrides = ["here": "localhost", "gone": "root@127.0.0.1:1"]   // gone: connection refused
        o.vars = nil
        o.batchBuild = false
        // `here` deploys locally and is unaffected; `lost` has no target anywhere.
        let run = DeployPipeline().start(names.map { Machine(name: $0) }, options: o)
        for await _ in run.events {}
        return await run.result()
    }

    func testDryRunOfAHostWithoutTargetFailsAtResolveAndStillPreviews() async {
        let s = await run(.dryRun, ["lost", "here"])
        XCTAssertEqual(s.failed.map(\.host), ["lost"])
        guard let lost = s.hosts.first(where: { $0.host == "lost" }), let f = lost.failure else { return XCTFail("lost failed") }
        XCTAssertEqual(f.stage, .resolve)
        XCTAssertTrue(f.description.hasPrefix("[lost] resolve failed: Could not find any way to connect to machine 'lost'"), f.description)
        // The preview went on: every stage has a result.
        XCTAssertEqual(lost.stages.map(\.stage), DeployStage.allCases)
        XCTAssertFalse(s.hosts.first(where: { $0.host == "here" })!.outcome.isFailure)
    }

    /// The summary line of a dry run (the CLI's table, the Deploy screen's LAST column) says where
    /// each host would build and how it would activate — also when there is nothing to build from
    /// or the host was not reached.
    func testDryRunSummarySaysWhereItBuildsAndHowItActivates() async {
        let s = await run(.dryRun, ["here", "gone"])
        let msg = Dictionary(uniqueKeysWithValues: s.hosts.map { h -> (String, String) in
            if case .ok(let m) = h.outcome { return (h.host, m) }
            return (h.host, "not ok: \(h.outcome)")
        })
        XCTAssertEqual(msg["here"], "dry run: nothing to build from: no flake in this test; would build locally and activate with "
                       + "nix-env --set, switch-to-configuration boot, then switch")
        let gone = msg["gone"] ?? ""
        XCTAssertTrue(gone.hasPrefix("dry run: host unreachable ("), gone)
        XCTAssertTrue(gone.hasSuffix("); would build on the target and activate with nix-env --set, switch-to-configuration boot, then switch"), gone)
    }

    func testDeployOfAHostWithoutTargetFailsAtResolve() async {
        let s = await run(.deploy, ["lost"])   // never a real deploy of this machine
        guard let f = s.hosts.first(where: { $0.host == "lost" })?.failure else { return XCTFail("lost failed") }
        XCTAssertEqual(f.stage, .resolve)
        XCTAssertTrue(f.description.hasPrefix("[lost] resolve failed: Could not find any way to connect to machine 'lost'"), f.description)
        XCTAssertEqual(s.hosts.first(where: { $0.host == "lost" })?.stages.map(\.stage), [.resolve], "a deploy stops there")
    }
}
