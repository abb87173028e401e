import XCTest
@testable import FleetModel

/// The status probe goes where the deploy's resolve stage starts (`DeployOptions.targets(for:)`,
/// clan's `get_best_remote` order) — the machine config's `clan.core.networking.targetHost` when the
/// inventory has none — and the TARGET column's table (`ResolvedTargets`) is that same first
/// candidate. When the flake's config evaluation arrives, the probes re-target at once. The probed
/// address is a closed loopback port (real ssh, refused at once).
final class DeployProbeTargetTests: XCTestCase {
    static let closed = "root@127.0.0.1:1"

    func fleet() throws -> ResolvedFleet {
        // No deploy.targetHost, no network: the inventory alone guesses clan's domain default for
        // alpha; the machine config says otherwise.
        ResolvedFleet(try InventoryDecoder(file: "inventory.json").decode("""
            {"meta": {"name": "t"}, "machines": {"alpha": {}, "beta": {}}}
            """))
    }

    func options(_ fleet: ResolvedFleet, config: ClanDeployConfig?) throws -> DeployOptions {
        var o = try DeployOptions.standard(kind: .rollback, source: .directory(path: "/nonexistent"), fleet: fleet, deployConfig: config)
        o.sshExtraOptions = ["BatchMode=yes"]
        return o
    }

    static let config = ClanDeployConfig(machines: ["alpha": .init(targetHost: closed)])

    func testProbeTargetsTheDeploysFirstCandidate() async throws {
        let fleet = try fleet()
        let o = try options(fleet, config: Self.config)
        let alpha = try XCTUnwrap(fleet.inventory.machines["alpha"])
        let first = try XCTUnwrap(o.targets(for: alpha).first)
        XCTAssertEqual(first, DeployTarget(address: Self.closed, source: .machineConfig))
        // The TARGET column's table says the same, and where it came from.
        let table = ResolvedTargets.resolve(fleet.inventory.machineList, options: o)
        XCTAssertEqual(table.target(of: "alpha"), .some(first))
        XCTAssertEqual(table.target(of: "beta"), .some(nil), "beta: no way to reach it (clan errors)")

        let prober = try StatusProber(options: o, probeTimeout: 2)
        let s = await prober.probe(alpha, evaluate: false)
        await prober.close()
        XCTAssertEqual(s.target, Self.closed, "the probe goes where the deploy would")
        guard case .unreachable = s.reachability else { return XCTFail("probed and refused: \(s.reachability)") }
    }

    func testProbesRetargetWhenTheConfigArrives() async throws {
        let fleet = try fleet()
        // Before the evaluation: the inventory's resolution.
        let prober = try StatusProber(options: try options(fleet, config: nil), probeTimeout: 2)
        let machines = fleet.inventory.machineList.filter { $0.name == "alpha" }
        let retargeted = ResolvedTargets.resolve(machines, options: try options(fleet, config: Self.config))
        // A refresh interval far longer than the test: only the retarget can bring a new probe.
        let consumer = Task { () -> [HostStatus] in
            var seen: [HostStatus] = []
            for await s in prober.refreshing(machines, every: .seconds(600), evaluateEvery: 0) {
                seen.append(s)
                if seen.count == 1 { prober.retarget(retargeted) } else { break }
            }
            return seen
        }
        let watchdog = Task { try await Task.sleep(for: .seconds(60)); consumer.cancel() }
        let seen = await consumer.value
        watchdog.cancel()
        await prober.close()
        // Before: the inventory's guess (`root@alpha.<meta.domain default>`), which clan would never try here.
        XCTAssertEqual(seen.first?.target, fleet.target(of: "alpha")?.address)
        XCTAssertNotEqual(seen.first?.target, Self.closed)
        XCTAssertEqual(seen.count, 2)
        XCTAssertEqual(seen.last?.target, Self.closed)
    }
}
