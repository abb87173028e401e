import XCTest
@testable import FleetModel

/// `clan.core.networking.{targetHost,buildHost}`, `clan.core.deployment.requireExplicitUpdate` and
/// `clan.exports` networks, evaluated from a flake made with the real clan-core
/// (`../shared/real-clan/new-clan-flake`), and what the deploy makes of them.
final class ClanDeployConfigTests: XCTestCase {
    static let clanNix = """
        {
          meta.name = "deploytest";
          meta.domain = "example.lan";
          inventory.machines = {
            alpha = { tags = [ "server" ]; deploy.buildHost = "root@builder"; };
            beta = { tags = [ "server" ]; };
            delta = { tags = [ "server" ]; };
          };
          inventory.instances = {
            internet = {
              roles.default.machines.delta.settings.host = "10.231.250.9";
              roles.default.machines.beta.settings.host = "beta.example.lan";
            };
          };
          machines = {
            alpha = { nixpkgs.hostPlatform = "x86_64-linux"; };
            beta = {
              nixpkgs.hostPlatform = "x86_64-linux";
              clan.core.networking.targetHost = "admin@beta.example.lan:2222";
              clan.core.networking.buildHost = "root@bigbuilder";
            };
            delta = { nixpkgs.hostPlatform = "x86_64-linux"; clan.core.deployment.requireExplicitUpdate = true; };
          };
        }
        """

    func makeFlake() async throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-dcfg-\(UUID().uuidString.prefix(8))").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let nixFile = dir + ".clan.nix"
        try Self.clanNix.write(toFile: nixFile, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: nixFile) }
        let r = try await ProcessRunner().run(ProcessSpec(argv: [try RealClan.sharedDirectory() + "/new-clan-flake", dir, nixFile], timeout: .seconds(120)))
        XCTAssertEqual(r.status, 0, r.stderrString)
        return "path:" + dir
    }

    static var env: [String: String] {
        var e = ProcessInfo.processInfo.environment
        e["NIX_CONFIG"] = "experimental-features = nix-command flakes\nsubstituters ="
        return e
    }

    func testEvaluatesMachineConfigAndExportsFromRealClan() async throws {
        let flake = try await makeFlake()
        let cfg = await ClanDeployConfig.evaluate(flake: flake, system: "x86_64-linux", environment: Self.env)
        // forwardAgent and secretUploadDirectory are clan-core's real option defaults.
        XCTAssertEqual(cfg.machine("beta"), .init(targetHost: "admin@beta.example.lan:2222", buildHost: "root@bigbuilder",
                                                  forwardAgent: false, secretUploadDirectory: "/var/lib/sops-nix"))
        XCTAssertEqual(cfg.machine("delta")?.requireExplicitUpdate, true)
        XCTAssertEqual(cfg.machine("alpha")?.buildHost, nil)
        XCTAssertEqual(cfg.explicitOnly, ["delta"])
        let inet = try XCTUnwrap(cfg.networks.first)
        XCTAssertEqual(inet.instance, "internet")
        XCTAssertEqual(inet.priority, 2000)
        XCTAssertEqual(inet.module, "clan_lib.network.direct")
        XCTAssertEqual(inet.peers["delta"], ["root@10.231.250.9"])

        // The deploy's candidates, in clan's order: the network (probed), then the machine config.
        let inv = try await InventoryLoader(source: .flake(path: flake)).loadFresh()
        let fleet = ResolvedFleet(inv)
        let beta = try XCTUnwrap(inv.machines["beta"])
        XCTAssertEqual(fleet.targetCandidates(of: beta, config: cfg).map(\.address), ["root@beta.example.lan", "admin@beta.example.lan:2222"])
        XCTAssertEqual(fleet.targetCandidates(of: beta, config: cfg).map(\.sourceLabel).last, "clan.core.networking.targetHost")
        // Build placement: inventory deploy.buildHost before the machine config; else the target.
        var o = DeployOptions(builder: .flake(flake))
        o.deployConfig = cfg
        XCTAssertEqual(o.buildPlacement(for: try XCTUnwrap(inv.machines["alpha"])), BuildPlacement(kind: .host("root@builder"), source: "deploy.buildHost"))
        XCTAssertEqual(o.buildPlacement(for: beta), BuildPlacement(kind: .host("root@bigbuilder"), source: "clan.core.networking.buildHost"))
        XCTAssertEqual(o.buildPlacement(for: try XCTUnwrap(inv.machines["delta"])).kind, .target)

        // requireExplicitUpdate: an implicit deploy skips delta and says so; naming it deploys it.
        let implicit = try DeploySelection.select(inv, names: [], tags: [], explicitOnly: cfg.explicitOnly)
        XCTAssertEqual(implicit.machines.map(\.name).sorted(), ["alpha", "beta"])
        XCTAssertEqual(implicit.skippedExplicitOnly, ["delta"])
        XCTAssertEqual(try DeploySelection.select(inv, names: ["delta"], tags: [], explicitOnly: cfg.explicitOnly).machines.map(\.name), ["delta"])
        XCTAssertThrowsError(try DeploySelection.select(inv, names: [], tags: ["server"], explicitOnly: ["alpha", "beta", "delta"])) {
            XCTAssertTrue("\($0)".contains("No machines to update."), "\($0)")
            XCTAssertTrue("\($0)".contains("alpha beta delta"), "\($0)")
        }
    }

    func testExportsParsing() throws {
        let json = try JSONParser.parse(Array(#"""
        {"clan-core/zerotier:zt::": {"networking": {"module": "clan_lib.network.zerotier", "priority": 900}, "peer": null},
         "clan-core/zerotier:zt:peer:b": {"networking": null, "peer": {"hosts": [{"plain": "fd00::2"}], "port": 2222, "user": "deploy"}},
         "clan-core/internet:inet::": {"networking": {"module": "clan_lib.network.direct", "priority": 2000}, "peer": null},
         "clan-core/internet:inet:default:b": {"networking": null, "peer": {"hosts": [{"plain": "b.example"}, {"plain": "203.0.113.2"}], "port": 22, "user": null}},
         "clan-core/zerotier:zt:peer:c": {"networking": null, "peer": null}}
        """#.utf8))
        let cfg = ClanDeployConfig.parse(machines: nil, exports: json)
        XCTAssertEqual(cfg.networks.map(\.instance), ["inet", "zt"], "highest priority first")
        XCTAssertEqual(cfg.networks[0].peers["b"], ["root@b.example", "root@203.0.113.2"])
        XCTAssertEqual(cfg.networks[1].peers["b"], ["deploy@[fd00::2]:2222"])
        XCTAssertNil(cfg.networks[1].peers["c"], "a peer whose address did not evaluate is not a candidate")
    }

    /// The dashboard's cache of the evaluation: served while the flake's files are unchanged, missed
    /// after any edit (size/mtime fingerprint), and nothing for a remote flake.
    func testDeployConfigCacheServesOnlyAnUnchangedFlake() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-dcc-\(UUID().uuidString.prefix(8))").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: base) }
        let flake = base + "/flake", cacheDir = base + "/cache"
        try FileManager.default.createDirectory(atPath: flake, withIntermediateDirectories: true)
        try "{ }".write(toFile: flake + "/flake.nix", atomically: true, encoding: .utf8)
        XCTAssertNil(DeployConfigCache(flake: "github:owner/repo", directory: cacheDir))
        let cache = try XCTUnwrap(DeployConfigCache(flake: flake, directory: cacheDir))
        XCTAssertNil(cache.load(), "nothing stored yet")
        let machines = try JSONParser.parse(Array(#"{"alpha": {"targetHost": "admin@alpha.lan:2222", "requireExplicitUpdate": false}}"#.utf8))
        cache.store(key: try XCTUnwrap(FlakeSystemCache.fingerprint(directory: flake)), machines: machines, exports: nil)
        XCTAssertEqual(cache.load()?.machine("alpha")?.targetHost, "admin@alpha.lan:2222")
        try "{ description = \"edited\"; }".write(toFile: flake + "/flake.nix", atomically: true, encoding: .utf8)
        XCTAssertNil(cache.load(), "an edited flake is evaluated again")
    }

    /// The probe is real: an sshd answering gets `true`, a closed port `false` within the timeout.
    func testProbeSeesSSHBannerOnly() async throws {
        // A listener that speaks ssh's first line, on loopback.
        let py = "import socket,sys;s=socket.socket();s.bind(('127.0.0.1',0));s.listen(4);print(s.getsockname()[1],flush=True);"
            + "c,_=s.accept();c.sendall(b'SSH-2.0-OpenSSH_test\\r\\n');c.recv(10)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", py]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { p.terminate() }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try XCTUnwrap(Int(line))
        let up = await TargetProbe.sshReachable(host: "127.0.0.1", port: port)
        XCTAssertTrue(up)
        // Nothing listens on the port any more once the one connection is taken.
        let down = await TargetProbe.sshReachable(address: "root@10.231.250.250", timeout: .milliseconds(300))
        XCTAssertFalse(down, "an unreachable address is not reachable")
    }
}
