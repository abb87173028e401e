import FleetModel
import Foundation
import XCTest

/// The flake source: generator metadata from `nix eval` of each machine's
/// `clanInternals.machines.<sys>.<m>.config.clan.core.vars.generators`, scripts from the built
/// `finalScript`. Uses a self-contained flake (no inputs) with the shape clan evaluates to.
final class VarsFlakeTests: XCTestCase {
    override func setUp() async throws {
        try VarsE2E.requireTools(["nix", "bwrap", "git"])
        setenv("NIX_CONFIG", "substituters =\nsandbox = false\n", 1)
    }

    private func flakeText() -> String {
        func script(_ name: String, _ body: String) -> String {
            // A store-path script, like clan's finalScript (writeShellScript); built with /bin/sh.
            """
            builtins.derivation { name = "\(name)"; system = sys; builder = "/bin/sh"; PATH = "/usr/bin:/bin";
                    args = [ "-c" ''printf '%s\\n' '#!/bin/sh' 'set -eu' \(body) > $out; chmod +x $out'' ]; }
            """
        }
        let file = #"{ secret = false; deploy = true; owner = "root"; group = "root"; mode = "0400"; neededFor = "services"; }"#
        let secretNoDeploy = #"{ secret = true; deploy = false; owner = "root"; group = "root"; mode = "0400"; neededFor = "services"; }"#
        return """
        {
          outputs = { self }: let
            sys = "x86_64-linux";
            ca = { name = "ca"; share = true; dependencies = []; validationHash = null; prompts = {};
                   files = { key = \(secretNoDeploy); "key.pub" = \(file); };
                   finalScript = \(script("ca", #"'printf cakey > "$out"/key' 'printf capub > "$out"/key.pub'"#)); };
            cert = m: { name = "cert"; share = false; dependencies = [ "ca" ];
                   validationHash = builtins.hashString "sha256" (builtins.toJSON { name = m; });
                   prompts = { note = { name = "note"; description = "A note"; type = "line"; persist = false; }; };
                   files = { cert = \(file); };
                   finalScript = \(script("cert", #"'cat "$in"/ca/key.pub "$prompts"/note > "$out"/cert'"#)); };
            machine = m: { clan.core = { vars.generators = { inherit ca; cert = cert m; }; sops.defaultGroups = []; }; };
          in {
            clanInternals.machines.${sys} = { a.config = machine "a"; b.config = machine "b"; };
          };
        }
        """
    }

    func testMetadataFromNixEvalAndScriptsFromFinalScript() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-flake-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let admin = AgeIdentity.generate()
        try FileManager.default.createDirectory(atPath: dir + "/sops/users/alice", withIntermediateDirectories: true)
        try "[\n  {\n    \"publickey\": \"\(admin.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]\n"
            .write(toFile: dir + "/sops/users/alice/key.json", atomically: true, encoding: .utf8)
        try flakeText().write(toFile: dir + "/flake.nix", atomically: true, encoding: .utf8)
        for args in [["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@example.invalid"], ["add", "-A"], ["commit", "-qm", "init"]] {
            try VarsE2E.run(["git"] + args, cwd: dir)
        }
        let runner = ProcessVarsRunner()
        let flake = FlakeGenerators(flake: dir, runner: runner)
        let catalog = try await flake.load(machines: [("a", "x86_64-linux"), ("b", "x86_64-linux")])
        XCTAssertEqual(catalog.generators.count, 3, "shared ca de-duplicated")
        XCTAssertEqual(catalog.generators[.shared("ca")]?.machines, ["a", "b"])
        let certA = try XCTUnwrap(catalog.generators[.perMachine("cert", "a")])
        XCTAssertEqual(certA.dependencies, [.shared("ca")])
        XCTAssertEqual(certA.definition.validationHash, ValidationHash.hash(of: .object(["name": .string("a")])))
        XCTAssertEqual(certA.prompts.first?.description, "A note")
        XCTAssertNil(certA.definition.script)

        let before = try VarsStatusChecker(clanDirectory: dir, catalog: catalog).status(machine: "a")
        XCTAssertEqual(before.missingPublicVars.map(\.id), ["ca/key.pub", "cert/cert"])
        XCTAssertEqual(before.missingSecretVars.map(\.id), ["ca/key"])

        var engine = VarsEngine(clanDirectory: dir, catalog: catalog, backend: NativeVarsSecrets(identities: [admin]), runner: runner)
        engine.scriptProvider = flake.scriptProvider(systems: ["a": "x86_64-linux", "b": "x86_64-linux"])
        let plan = try engine.plan()
        XCTAssertEqual(plan.generators, [.shared("ca"), .perMachine("cert", "a"), .perMachine("cert", "b")])
        try await engine.generate(plan, answer: { req in "note-for-\(req.generator.machine ?? "-")" })
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/per-machine/b/cert/cert/value", encoding: .utf8), "capubnote-for-b")
        XCTAssertEqual(try VarsStatusChecker(clanDirectory: dir, catalog: catalog).status(machine: "b").hasProblems, false)
        XCTAssertEqual(try String(contentsOfFile: dir + "/vars/per-machine/a/cert/.validation-hash", encoding: .utf8), certA.definition.validationHash)
    }
}
