import XCTest
@testable import FleetModel

final class DeployHistoryTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-history-\(UUID().uuidString)").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func result(_ host: String, ok: Bool, build: Double) -> HostResult {
        let f = DeployFailure(host: host, stage: .activate, message: "switch-to-configuration switch exited 1")
        return HostResult(host: host, target: "root@\(host)", outcome: ok ? .ok("running /nix/store/x") : .failed(f),
                          systemPath: "/nix/store/x", previousSystem: nil, generation: 2, seconds: build + 1,
                          stages: [(.connect, .ok("Linux"), 0.2), (.build, .ok("built"), build),
                                   (.activate, ok ? .ok("switched") : .failed(f), 0.5)])
    }

    func testRecordsListsAndReadsLogs() throws {
        let h = try DeployHistory(path: dir + "/state/fleet/history.sqlite")
        try h.begin(id: "r1", kind: .deploy, hosts: 2, startedAt: Date(timeIntervalSince1970: 100))
        try h.record(deployID: "r1", result: result("a", ok: true, build: 2), logs: [.build: ["building 'x'", "done"]])
        try h.record(deployID: "r1", result: result("b", ok: false, build: 4), logs: [.activate: ["boom"]])
        try h.finish(DeploySummary(id: "r1", kind: .deploy, hosts: [result("a", ok: true, build: 2), result("b", ok: false, build: 4)],
                                   seconds: 5, cancelled: false), finishedAt: Date(timeIntervalSince1970: 105))

        let deploys = try h.deploys()
        XCTAssertEqual(deploys.count, 1)
        XCTAssertEqual(deploys[0].failedCount, 1)
        XCTAssertEqual(deploys[0].finishedAt, Date(timeIntervalSince1970: 105))
        let hosts = try h.hosts(deployID: "r1")
        XCTAssertEqual(hosts.map(\.host), ["a", "b"])
        XCTAssertEqual(hosts.map(\.succeeded), [true, false])
        XCTAssertEqual(hosts[1].failedStage, .activate)
        XCTAssertEqual(hosts[1].message, "[b] activate failed: switch-to-configuration switch exited 1")
        XCTAssertEqual(try h.stages(deployID: "r1", host: "a").map(\.stage), [.connect, .build, .activate])
        let log = try h.log(deployID: "r1", host: "a")
        XCTAssertTrue(log.contains("== build: ok"), log)
        XCTAssertTrue(log.contains("building 'x'\ndone"), log)
        XCTAssertEqual(try h.lastDeploy(kind: .deploy)?.id, "r1")
        XCTAssertNil(try h.lastDeploy(kind: .rollback))
    }

    func testETAIsMedianOfRecentSuccessfulRuns() throws {
        let h = try DeployHistory(path: dir + "/h.sqlite")
        XCTAssertNil(h.eta(host: "a", stage: .build))
        for (i, secs) in [1.0, 9.0, 3.0].enumerated() {
            try h.begin(id: "r\(i)", kind: .deploy, hosts: 1, startedAt: Date(timeIntervalSince1970: Double(i)))
            try h.record(deployID: "r\(i)", result: result("a", ok: true, build: secs), logs: [:])
        }
        XCTAssertEqual(h.eta(host: "a", stage: .build), 3.0)
        XCTAssertEqual(h.eta(host: "other", stage: .build), 3.0, "falls back to every host's runs of the stage")
        XCTAssertNil(h.eta(host: "a", stage: .copy))
        // Reopening keeps everything (migrations are idempotent).
        XCTAssertEqual(try DeployHistory(path: dir + "/h.sqlite").deploys().count, 3)
    }

    func testDefaultPath() {
        XCTAssertEqual(DeployHistory.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]), "/s/fleet/history.sqlite")
        XCTAssertEqual(DeployHistory.defaultPath(environment: ["HOME": "/h"]), "/h/.local/state/fleet/history.sqlite")
    }
}

final class DeploySelectionTests: XCTestCase {
    let inv = Inventory(meta: .init(name: "t"), machines: [
        "web1": Machine(name: "web1", tags: ["all", "nixos", "web", "prod"]),
        "web2": Machine(name: "web2", tags: ["all", "nixos", "web"]),
        "mac": Machine(name: "mac", machineClass: .darwin, tags: ["all", "darwin"]),
    ])

    func testSelection() throws {
        XCTAssertEqual(try DeploySelection.select(inv, names: [], tags: []).map(\.name), ["web1", "web2", "mac"])
        XCTAssertEqual(try DeploySelection.select(inv, names: [], tags: ["web", "prod"]).map(\.name), ["web1"])
        XCTAssertEqual(try DeploySelection.select(inv, names: ["mac", "web2", "mac"], tags: []).map(\.name), ["mac", "web2"])
        XCTAssertThrowsError(try DeploySelection.select(inv, names: ["web3"], tags: [])) {
            XCTAssertEqual("\($0)", "Machine 'web3' not found. Did you mean: web1?")
        }
        XCTAssertThrowsError(try DeploySelection.select(inv, names: [], tags: ["web", "darwin"])) {
            XCTAssertEqual("\($0)", "No machines found with tags: web AND darwin")
        }
    }

    func testEventJSON() {
        let e = DeployEvent(host: "tb1", stage: .copy, kind: .stageFinished(.ok("nothing to copy (host has all 3 paths)"), seconds: 0.25),
                            time: Date(timeIntervalSince1970: 2))
        XCTAssertEqual(DeployEventJSON.line(e),
                       #"{"type":"stage_finished","host":"tb1","stage":"copy","result":"ok","message":"nothing to copy (host has all 3 paths)","seconds":0.250,"time":2.000}"#)
    }
}
