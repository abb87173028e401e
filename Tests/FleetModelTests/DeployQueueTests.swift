import Foundation
import XCTest
@testable import FleetModel

/// The `--jobs` queue: hosts start in the order given, each when a slot frees up, and a cancelled
/// run starts none of the hosts still waiting.
final class DeployQueueTests: XCTestCase {
    private func options(jobs: Int) -> DeployOptions {
        var o = DeployOptions(kind: .deploy, jobs: jobs, builder: .flake("path:/nonexistent"))
        o.nothingToBuild = "no flake in this test"
        o.vars = nil
        o.batchBuild = false
        return o
    }

    /// `--jobs 1` runs hosts in the order given, each after the previous one's end (a CI run once
    /// started the second host first: the hosts' tasks raced for the one slot).
    func testJobsOneRunsHostsInTheGivenOrder() async {
        let names = (0..<40).map { "lost\($0)" }   // no target: each fails fast at resolve
        let run = DeployPipeline().start(names.map { Machine(name: $0) }, options: options(jobs: 1))
        var order: [String] = []
        for await e in run.events where !e.host.isEmpty {
            if case .hostFinished = e.kind { order.append("end " + e.host) } else if order.last != "start " + e.host {
                order.append("start " + e.host)
            }
        }
        XCTAssertEqual(order, names.flatMap { ["start " + $0, "end " + $0] })
    }

    /// Cancelled while the first host connects (to a listener that never answers ssh's banner), the
    /// two hosts waiting for its slot end as "cancelled before it started", without a stage.
    func testCancelledRunStartsNoWaitingHost() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &len) == 0 }
        }
        XCTAssertTrue(bound)
        let port = UInt16(bigEndian: addr.sin_port)

        var o = options(jobs: 1)
        o.targetOverrides = ["slow": "root@127.0.0.1:\(port)"]
        let run = DeployPipeline().start(["slow", "q1", "q2"].map { Machine(name: $0) }, options: o)
        var started: Set<String> = []
        for await e in run.events where !e.host.isEmpty {
            if case .stageStarted = e.kind {
                started.insert(e.host)
                if e.host == "slow", e.stage == .connect { run.cancel() }
            }
        }
        let s = await run.result()
        XCTAssertTrue(s.cancelled)
        XCTAssertEqual(started, ["slow"], "no waiting host started a stage")
        for h in ["q1", "q2"] {
            let r = try XCTUnwrap(s.hosts.first { $0.host == h })
            XCTAssertEqual(r.failure?.message, "cancelled before it started", h)
            XCTAssertEqual(r.failure?.cancelled, true, h)
            XCTAssertTrue(r.stages.isEmpty, h)
        }
        XCTAssertEqual(s.hosts.first { $0.host == "slow" }?.failure?.cancelled, true)
    }
}
