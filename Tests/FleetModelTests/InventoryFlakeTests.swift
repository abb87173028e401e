import Foundation
import XCTest
@testable import FleetModel

/// Real `nix eval` of a tiny clan-shaped flake with no inputs (Tests/FleetModelTests/Fixtures/
/// inventory/clan-flake), no network: Debian nix 2.8 with flakes enabled per command.
final class InventoryFlakeTests: XCTestCase {
    private var nixEnvironment: [String: String] {
        var env = gitEnvironment()
        env["NIX_CONFIG"] = "substituters =\nsandbox = false"
        return env
    }

    private func requireNix() throws {
        guard ProcessRunner.resolveExecutable("nix", path: ProcessInfo.processInfo.environment["PATH"] ?? "") != nil else {
            XCTFail("nix is not installed (apt-get install nix-bin): the flake integration test needs it")
            throw XCTSkip("nix missing")
        }
    }

    /// A git copy of the fixture flake (flakes in git repos see tracked files only).
    private func makeFlake() async throws -> String {
        let dir = try makeTempDir(self, "flake")
        let src = InventoryFixtures.path("clan-flake")
        for name in ["flake.nix", "inventory.json", "machines/beta/configuration.nix"] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: src + "/" + name), name)
            try writeFile(dir + "/" + name, String(decoding: data, as: UTF8.self))
        }
        try await gitRun(dir, "init", "-q")
        try await gitRun(dir, "add", "-A")
        try await gitRun(dir, "commit", "-q", "-m", "initial")
        return dir
    }

    private func loader(_ flake: String, cacheDir: String) -> InventoryLoader {
        InventoryLoader(source: .flake(path: flake),
                        evaluator: FlakeEvaluator(environment: nixEnvironment),
                        cache: InventoryCache(directory: cacheDir))
    }

    func testLoadsAWrappedInventoryThroughTheFlakeSource() async throws {
        try requireNix()
        let flake = try await makeFlake()
        let inv = try await FlakeEvaluator(environment: nixEnvironment).evaluate(flake)
        XCTAssertEqual(inv.meta.name, "tiny")
        XCTAssertEqual(inv.meta.domain, "lan")
        XCTAssertEqual(Array(inv.machines.keys), ["alpha", "beta", "mac"], "machines/beta/ registers beta")
        XCTAssertEqual(inv.machines["alpha"]?.tags, ["web", "all", "nixos"])
        XCTAssertEqual(inv.machines["mac"]?.machineClass, .darwin)
        XCTAssertEqual(inv.machines["alpha"]?.deploy.targetHost, "root@192.0.2.1")
        XCTAssertEqual(inv.clanDirectory, flake)
        let server = try XCTUnwrap(inv.instances["sshd"]?.roles["server"])
        XCTAssertEqual(server.settings.value, try JSONParser.parse(#"{"hostKeys": {"rsa": false}, "port": 22}"#))
        XCTAssertTrue(server.settings.definedIn?.hasSuffix("inventory.json, via option inventory.instances.sshd.roles.server.settings") == true,
                      server.settings.definedIn ?? "nil")
        XCTAssertEqual(server.tags["nixos"]?.value, .object(["port": .number("2222")]))
        let fleet = ResolvedFleet(inv)
        XCTAssertEqual(fleet.roles(of: "alpha"), ["sshd/server", "zerotier/controller", "zerotier/peer"])
        XCTAssertEqual(fleet.roles(of: "mac"), ["zerotier/peer"])
        XCTAssertEqual(fleet.services(of: "beta").first { $0.ref.instance == "sshd" }?.settings["port"], .number("2222"),
                       "tag settings on top of role settings")
        XCTAssertEqual(fleet.zerotier.first?.controller, "alpha")
    }

    func testLoaderYieldsFastResultThenFreshAndCachesByGitState() async throws {
        try requireNix()
        let flake = try await makeFlake()
        let cacheDir = try makeTempDir(self, "cache")
        // First run: no cache → offline fast path (inventory.json + machines/), then the evaluation.
        var stages: [InventorySnapshot.Stage] = []
        var last: Inventory?
        for try await snap in loader(flake, cacheDir: cacheDir).updates() { stages.append(snap.stage); last = snap.inventory }
        XCTAssertEqual(stages, [.offline, .fresh])
        XCTAssertEqual(last?.machines["alpha"]?.tags, ["web", "all", "nixos"])
        // Second run, same HEAD and work tree: the cache answers first.
        stages = []
        for try await snap in loader(flake, cacheDir: cacheDir).updates() {
            stages.append(snap.stage)
            if snap.stage == .cached { XCTAssertEqual(snap.inventory, last, "cached == last evaluation"); XCTAssertTrue(snap.isRevalidating) }
        }
        XCTAssertEqual(stages, [.cached, .fresh])
        // Edit a tag (as `fleet tag add` does, committed): the key changes, the cache misses, and the
        // fresh evaluation sees the new tag.
        _ = try await InventoryWriter(directory: flake, environment: gitEnvironment()).addTag("db", to: "alpha")
        stages = []
        for try await snap in loader(flake, cacheDir: cacheDir).updates() { stages.append(snap.stage); last = snap.inventory }
        XCTAssertEqual(stages, [.offline, .fresh])
        XCTAssertEqual(last?.machines["alpha"]?.tags, ["web", "db", "all", "nixos"])
        // A dirty work tree is part of the key as well.
        let key1 = await InventoryCache(directory: cacheDir).key(flakeDirectory: flake)
        try writeFile(flake + "/inventory.json", (try String(contentsOfFile: flake + "/inventory.json", encoding: .utf8)).replacingOccurrences(of: "\"lan\"", with: "\"home\""))
        let key2 = await InventoryCache(directory: cacheDir).key(flakeDirectory: flake)
        XCTAssertNotNil(key1)
        XCTAssertNotEqual(key1, key2)
    }

    func testEvaluationFailureShowsNixMessage() async throws {
        try requireNix()
        let flake = try await makeFlake()
        try writeFile(flake + "/flake.nix", "{ outputs = { self }: { clanInternals = throw \"clan assertion: exactly one controller\"; }; }")
        do {
            _ = try await FlakeEvaluator(environment: nixEnvironment).evaluate(flake)
            XCTFail("expected failure")
        } catch let e as InventoryLoadError {
            guard case .evaluationFailed(let f, let status, let message) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, flake)
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(message.contains("clan assertion: exactly one controller"), message)
            XCTAssertTrue(e.description.contains("clanInternals.inventoryClass.inventorySerialization failed"), e.description)
        }
        // The loader still gave the fast result before failing.
        var stages: [InventorySnapshot.Stage] = []
        do {
            for try await snap in loader(flake, cacheDir: try makeTempDir(self, "cache")).updates() { stages.append(snap.stage) }
            XCTFail("expected the stream to fail")
        } catch is InventoryLoadError {}
        XCTAssertEqual(stages, [.offline])
    }

    func testMissingNixIsAClearError() async throws {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = "/nonexistent"
        do {
            _ = try await FlakeEvaluator(environment: env).evaluate("/tmp/some-flake")
            XCTFail("expected nixMissing")
        } catch let e as InventoryLoadError {
            XCTAssertEqual(e.description, "/tmp/some-flake: reading a clan flake needs `nix`, which is not on PATH (install nix, or use --inventory DIR)")
        }
    }

    func testDirectorySourceIsFreshAtOnceAndErrorsEndTheStream() async throws {
        var stages: [InventorySnapshot.Stage] = []
        for try await snap in InventoryLoader(source: .demo(path: InventoryFixtures.demo), cache: nil).updates() {
            stages.append(snap.stage)
            XCTAssertFalse(snap.isRevalidating)
            XCTAssertEqual(snap.inventory.machines.count, 8)
        }
        XCTAssertEqual(stages, [.fresh])
        do {
            _ = try await InventoryLoader(source: .directory(path: "/nonexistent/fleet"), cache: nil).loadFresh()
            XCTFail("expected an error")
        } catch let e as InventoryError {
            XCTAssertEqual(e.file, "/nonexistent/fleet/inventory.json")
        }
    }

    func testFlakeReferences() {
        XCTAssertEqual(FlakeEvaluator.localDirectory("/a/b/"), "/a/b")
        XCTAssertEqual(FlakeEvaluator.localDirectory("path:/a/b"), "/a/b")
        XCTAssertEqual(FlakeEvaluator.localDirectory("git+file:///a/b?ref=main"), "/a/b")
        XCTAssertNil(FlakeEvaluator.localDirectory("github:clan-lol/clan-core"))
        XCTAssertEqual(FlakeEvaluator.flakeRef("github:o/r"), "github:o/r")
    }
}
