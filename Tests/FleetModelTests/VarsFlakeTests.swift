import FleetModel
import Foundation
import XCTest

/// The flake source on a real clan-core clan (`RealClan`): generator metadata from `nix eval` of each
/// machine's `clanInternals.machines.<sys>.<m>.config.clan.core.vars.generators`, scripts from the
/// built `finalScript` (clan-core's generic-generator.nix wraps the user's `script` with its
/// `runtimeInputs` on PATH; the packages are tests/real-clan/pkgs.nix's host-binary stand-ins).
final class VarsFlakeTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["nix", "bwrap", "git"])
        RealClan.useOfflineNix()
    }

    /// Generators written in a machine's config, as users add their own: a shared CA (a secret that is
    /// not deployed and a public key), and per machine a certificate that depends on it, asks a prompt
    /// and is invalidated by `validation`.
    static let clanNix = """
        let
          generators = name: { pkgs, ... }: {
            nixpkgs.hostPlatform = "x86_64-linux";
            clan.core.vars.generators.ca = {
              share = true;
              files.key.deploy = false;
              files."key.pub".secret = false;
              script = ''printf cakey > "$out"/key; printf capub > "$out"/key.pub'';
            };
            clan.core.vars.generators.cert = {
              dependencies = [ "ca" ];
              validation = { inherit name; };
              prompts.note = { description = "A note"; type = "line"; };
              files.cert.secret = false;
              runtimeInputs = [ pkgs.coreutils ];
              script = ''cat "$in"/ca/key.pub "$prompts"/note > "$out"/cert'';
            };
          };
        in {
          meta.name = "certs";
          inventory.machines = { a = { }; b = { }; };
          machines.a = generators "a";
          machines.b = generators "b";
        }
        """

    func testMetadataFromNixEvalAndScriptsFromFinalScript() async throws {
        let dir = try RealClan.copy(RealClan.flake(clanNix: Self.clanNix), test: self)
        let admin = AgeIdentity.generate()
        try writeFile(dir + "/sops/users/alice/key.json", "[\n  {\n    \"publickey\": \"\(admin.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]\n")
        try VarsE2E.run(["git", "add", "-A"], cwd: dir)
        try VarsE2E.run(["git", "commit", "-qm", "admin alice"], cwd: dir)
        let runner = ProcessVarsRunner()
        let flake = FlakeGenerators(flake: dir, runner: runner)
        let catalog = try await flake.load()
        // Besides the user's generators, clan-core's own per-machine `state-version`.
        XCTAssertEqual(catalog.generators.keys.map(\.description).sorted(),
                       ["ca (shared)", "cert (machine: a)", "cert (machine: b)", "state-version (machine: a)", "state-version (machine: b)"])
        XCTAssertEqual(catalog.generators[.shared("ca")]?.machines, ["a", "b"], "shared ca de-duplicated")
        let ca = try XCTUnwrap(catalog.generators[.shared("ca")])
        XCTAssertEqual(ca.files.map { "\($0.name) secret=\($0.secret) deploy=\($0.deploy)" }, ["key secret=true deploy=false", "key.pub secret=false deploy=true"])
        let certA = try XCTUnwrap(catalog.generators[.perMachine("cert", "a")])
        XCTAssertEqual(certA.dependencies, [.shared("ca")])
        // clan-core's hash of `validation` (hashString "sha256" (toJSON validation)) is fleet's too.
        XCTAssertEqual(certA.definition.validationHash, ValidationHash.hash(of: .object(["name": .string("a")])))
        XCTAssertEqual(certA.prompts.map { "\($0.name) \($0.kind.rawValue) \($0.description)" }, ["note line A note"])
        XCTAssertNil(certA.definition.script)

        let before = try VarsStatusChecker(clanDirectory: dir, catalog: catalog).status(machine: "a")
        XCTAssertEqual(before.missingPublicVars.map(\.id), ["ca/key.pub", "cert/cert", "state-version/version"])
        XCTAssertEqual(before.missingSecretVars.map(\.id), ["ca/key"])

        var engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: [admin]), runner: runner)
        engine.scriptProvider = flake.scriptProvider(systems: ["a": "x86_64-linux", "b": "x86_64-linux"])
        let plan = try engine.plan()
        XCTAssertEqual(plan.generators.filter { $0.name != "state-version" }, [.shared("ca"), .perMachine("cert", "a"), .perMachine("cert", "b")])
        try await engine.generate(plan, answer: { req in "note-for-\(req.generator.machine ?? "-")" })
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/per-machine/b/cert/cert/value", encoding: .utf8), "capubnote-for-b")
        XCTAssertEqual(try VarsStatusChecker(clanDirectory: dir, catalog: catalog).status(machine: "b").hasProblems, false)
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/per-machine/a/cert/.validation-hash", encoding: .utf8), certA.definition.validationHash)
    }
}
