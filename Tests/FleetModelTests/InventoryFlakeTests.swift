import Foundation
import XCTest
@testable import FleetModel

/// The flake source on a real clan-core clan (`RealClan`, over `../shared/real-clan`): clan-core itself
/// reads the clan's `inventory.json` and registers `machines/<name>/` (modules/clan/module.nix:124-148),
/// computes tags and wraps settings; fleet reads that evaluation, its offline fast path reads the same
/// files, and its tag edits must be what clan-core then evaluates.
final class InventoryFlakeTests: XCTestCase {
    /// clan.nix as a user writes it; machines and instances live in inventory.json, as clan's UI and
    /// `clan machines create` keep them.
    static let clanNix = """
        {
          meta.name = "tiny";
          meta.domain = "lan";
        }
        """
    /// A realistic inventory.json: settings valid for clan-core's zerotier and sshd interfaces.
    static let inventoryJSON = """
        {
          "machines": {
            "alpha": { "tags": ["web"], "deploy": { "targetHost": "root@192.0.2.1" } },
            "mac": { "machineClass": "darwin" }
          },
          "instances": {
            "zerotier": {
              "module": { "name": "zerotier" },
              "roles": {
                "controller": { "machines": { "alpha": { "settings": { "public": true } } } },
                "peer": { "tags": { "all": {} } }
              }
            },
            "sshd": {
              "module": { "name": "sshd", "input": "clan-core" },
              "roles": {
                "server": {
                  "tags": { "nixos": { "settings": { "certificate": { "searchDomains": ["lan"] } } } },
                  "settings": { "hostKeys": { "rsa": { "enable": false } } }
                }
              }
            }
          }
        }

        """

    private var nixEnvironment: [String: String] {
        var env = gitEnvironment()
        env["NIX_CONFIG"] = RealClan.nixConfig
        return env
    }

    /// A private git copy of the real clan with inventory.json and machines/beta/ committed (a flake
    /// in git sees tracked files only).
    private func makeFlake() async throws -> String {
        let dir = try RealClan.copy(RealClan.flake(clanNix: Self.clanNix), test: self)
        try writeFile(dir + "/inventory.json", Self.inventoryJSON)
        try writeFile(dir + "/machines/beta/configuration.nix", "{ ... }: { }\n")
        try await gitRun(dir, "add", "-A")
        try await gitRun(dir, "commit", "-q", "-m", "inventory.json, machines/beta")
        return dir
    }

    private func loader(_ flake: String, cacheDir: String) -> InventoryLoader {
        InventoryLoader(source: .flake(path: flake),
                        evaluator: FlakeEvaluator(environment: nixEnvironment),
                        cache: InventoryCache(directory: cacheDir))
    }

    func testLoadsAWrappedInventoryThroughTheFlakeSource() async throws {
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
        XCTAssertEqual(server.settings.value, try JSONParser.parse(#"{"hostKeys": {"rsa": {"enable": false}}}"#))
        XCTAssertTrue(server.settings.definedIn?.hasSuffix("inventory.json, via option inventory.instances.sshd.roles.server.settings") == true,
                      server.settings.definedIn ?? "nil")
        XCTAssertEqual(server.tags["nixos"]?.value, try JSONParser.parse(#"{"certificate": {"searchDomains": ["lan"]}}"#))
        XCTAssertEqual(inv.instances["zerotier"]?.roles["controller"]?.machines["alpha"]?.value, .object(["public": .bool(true)]))
        let fleet = ResolvedFleet(inv)
        XCTAssertEqual(fleet.roles(of: "alpha"), ["sshd/server", "zerotier/controller", "zerotier/peer"])
        XCTAssertEqual(fleet.roles(of: "mac"), ["zerotier/peer"])
        let betaSSHD = fleet.services(of: "beta").first { $0.ref.instance == "sshd" }?.settings
        XCTAssertEqual(betaSSHD?["certificate"]?["searchDomains"], .array([.string("lan")]), "tag settings on top of role settings")
        XCTAssertEqual(betaSSHD?["hostKeys"]?["rsa"]?["enable"], .bool(false), "role settings kept")
        XCTAssertEqual(fleet.zerotier.first?.controller, "alpha")
    }

    func testLoaderYieldsFastResultThenFreshAndCachesByGitState() async throws {
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
        // A mistake as users make it: clan-core's own option types refuse it during the evaluation.
        let flake = try await makeFlake()
        try writeFile(flake + "/clan.user.nix", "{\n  meta.name = \"tiny\";\n  inventory.machines.zeta.tags = \"web\";\n}\n")
        try await gitRun(flake, "commit", "-q", "-am", "a tag that is not a list")
        do {
            _ = try await FlakeEvaluator(environment: nixEnvironment).evaluate(flake)
            XCTFail("expected failure")
        } catch let e as InventoryLoadError {
            guard case .evaluationFailed(let f, let status, let message) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, flake)
            XCTAssertNotEqual(status, 0)
            XCTAssertTrue(message.contains("inventory.machines.zeta.tags") && message.contains("is not of type"), message)
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
