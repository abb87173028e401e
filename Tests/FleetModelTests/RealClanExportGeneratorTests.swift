import FleetModel
import Foundation
import XCTest

/// Flake-level ("per-export") generators on the real clan-core (tests/real-clan/exports.nix, shaped
/// like clan-core's own `test_flake_level_generators`): evaluated, checked, generated in dependency
/// order into `vars/per-export/` exactly as clan's sops and in_repo stores write them, and uploaded
/// with the machines in their `deploy` lists.
final class RealClanExportGeneratorTests: XCTestCase {
    override func setUp() async throws { RealClan.useOfflineNix() }

    func testEvaluatedCheckedGeneratedAndUploaded() async throws {
        let dir = try RealClan.copy(RealClan.flake(clanNix: RealClan.clanNix("exports.nix")), test: self)
        let repo = VarsRepository(clanDirectory: dir)
        let loaded = try await repo.loadCatalog()
        let catalog = try XCTUnwrap(loaded)

        // Evaluated from clanInternals.systems.<sys>.exports, beside the machines' generators.
        XCTAssertEqual(catalog.flakeLevelGenerators.map(\.id), [.perExport("one", "A"), .perExport("web-boot", "A"), .perExport("boot", "B"),
                                                                .perExport("one", "B"), .perExport("two", "B")])
        XCTAssertEqual(catalog.machineNames, ["db", "web"])
        let two = try XCTUnwrap(catalog.generators[.perExport("two", "B")])
        XCTAssertEqual(two.dependencies, [.perExport("one", "B")])
        XCTAssertEqual(two.inputLocation(of: .perExport("one", "B")), "one")
        XCTAssertEqual(catalog.generators[.perExport("one", "B")]?.inputLocation(of: .perExport("one", "A")), "A")
        XCTAssertEqual(two.machines, ["web"])
        XCTAssertEqual(two.files.map(\.deployTo), [["web"]])
        XCTAssertEqual(catalog.generators[.perExport("one", "B")]?.files.map(\.secret), [false])
        XCTAssertEqual(catalog.generators[.perExport("boot", "B")]?.files.map(\.neededFor), [.activation])
        XCTAssertEqual(two.id.relDir, "per-export/B/two")

        // Checked with clan's categories, one report per export key.
        let admin = AgeIdentity.generate()
        let before = VarsStatusChecker(clanDirectory: dir, catalog: catalog).exportStatuses()
        XCTAssertEqual(before.map(\.exportKey), ["A", "B"])
        XCTAssertEqual(before[1].clanText, """
            Missing secret vars:
              - boot/key
              - two/foo
            Missing public vars:
              - one/foo
            Invalid generators (outdated invalidation hash):
              - boot
              - one
              - two

            """)

        // Generated with the machines' generators, dependencies first.
        try FileManager.default.createDirectory(atPath: dir + "/sops/users/admin", withIntermediateDirectories: true)
        try "[\n  {\n    \"publickey\": \"\(admin.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]\n"
            .write(toFile: dir + "/sops/users/admin/key.json", atomically: true, encoding: .utf8)
        let backend = NativeVarsSecrets(identities: [admin])
        var engine = repo.engine(catalog: catalog, backend: backend)
        engine.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let plan = try engine.plan()
        XCTAssertEqual(plan.generators, [.perExport("one", "A"), .perExport("web-boot", "A"), .perExport("boot", "B"), .perExport("one", "B"), .perExport("two", "B"),
                                         .perMachine("state-version", "db"), .perMachine("state-version", "web")])
        // A machine's run brings what it receives: db gets B/boot only; web gets B/two, whose missing
        // dependencies B/one and A/one (deployed nowhere) come first.
        XCTAssertEqual(try engine.plan(machines: ["db"]).generators, [.perExport("boot", "B"), .perMachine("state-version", "db")])
        XCTAssertEqual(try engine.plan(machines: ["web"]).generators, [.perExport("one", "A"), .perExport("web-boot", "A"), .perExport("boot", "B"), .perExport("one", "B"),
                                                                      .perExport("two", "B"), .perMachine("state-version", "web")])
        try await engine.generate(plan, answer: { _ in "" })

        // On disk as clan writes them: value / sops secret, links to the deploy machines and the
        // admin, `.validation-hash` = clan's fixed "abc", one commit per generator.
        let b = dir + "/vars/per-export/B"
        XCTAssertEqual(try String(contentsOfFile: b + "/one/foo/value", encoding: .utf8), "hello\nworld!\n")
        XCTAssertEqual(try String(contentsOfFile: b + "/two/.validation-hash", encoding: .utf8), "abc")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: b + "/two/foo/machines/web"), "../../../../../../sops/machines/web")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: b + "/two/foo/users/admin"), "../../../../../../sops/users/admin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/vars/per-export/A/one/foo/machines"), "deploy = [] links no machine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: b + "/boot/key/machines").sorted(), ["db", "web"])
        let keys = SopsKeyIndex(clanDirectory: dir)
        let web = try XCTUnwrap(keys.machines["web"]?.first)
        XCTAssertEqual(try SopsFileRecipients.read(path: b + "/two/foo/secret"), [SopsKeyRef(admin.recipient.encoded), web])
        XCTAssertEqual(try SopsFileRecipients.read(path: dir + "/vars/per-export/A/one/foo/secret"), [SopsKeyRef(admin.recipient.encoded)])
        // $in/<location>: B/two read B/one ("hello\nworld!\n") and appended a line.
        let text = try String(contentsOfFile: b + "/two/foo/secret", encoding: .utf8)
        XCTAssertEqual(String(decoding: try backend.decrypt(text), as: UTF8.self), "hello\nworld!\nworld!\n")
        let log = String(decoding: try VarsE2E.run(["git", "-C", dir, "log", "--format=%s"]).stdout, as: UTF8.self)
        XCTAssertTrue(log.contains("vars: update via generator two (export: B)\n"), log)

        let after = VarsStatusChecker(clanDirectory: dir, catalog: catalog).exportStatuses()
        XCTAssertEqual(after.map(\.clanText), ["All vars are present and valid.", "All vars are present and valid."])
        XCTAssertTrue(try engine.plan().isEmpty)
        // Rotating B/one (A/one has the same name) reaches its dependent B/two, and nothing of A.
        XCTAssertEqual(try engine.plan(generator: "one", regenerate: true, exportKey: "B").generators, [.perExport("one", "B"), .perExport("two", "B")])
        XCTAssertThrowsError(try engine.plan(generator: "two", regenerate: true, exportKey: "A"))
        XCTAssertEqual(VarsDiskScan.scan(clanDirectory: dir, inventoryMachines: ["web", "db"]).entries
                        .filter { $0.exportKey == "B" }.map { "\($0.placement) \($0.id) \($0.kind.rawValue)" },
                       ["export: B boot/key secret", "export: B one/foo public", "export: B two/foo secret"])

        // Upload: an activation file goes to the machines of its deploy list (A/web-boot to web only),
        // under activation/per-export/<key>/<g>/<f>; services files (B/two) stay in the closure.
        let keyFile = dir + "/admin.txt"
        try (admin.encoded + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        let provider = ClanSecrets.provider(clanDirectory: dir, catalog: catalog, environment: ["SOPS_AGE_KEY_FILE": keyFile, "HOME": "/nonexistent"])
        let webUp = try await provider(Machine(name: "web")), dbUp = try await provider(Machine(name: "db"))
        XCTAssertEqual(webUp.map(\.remotePath), ["/var/lib/sops-nix/key.txt", "/var/lib/sops-nix/activation/per-export/A/web-boot/key",
                                               "/var/lib/sops-nix/activation/per-export/B/boot/key"])
        XCTAssertEqual(dbUp.map(\.remotePath), ["/var/lib/sops-nix/key.txt", "/var/lib/sops-nix/activation/per-export/B/boot/key"])
        XCTAssertEqual(webUp.dropFirst().map { String(decoding: $0.bytes, as: UTF8.self) }, ["web-only\n", "boot-key\n"])

        // A secret no longer encrypted to its deploy machine is "unfixed"; a whole-clan fix re-encrypts it.
        let twoSecret = b + "/two/foo/secret"
        try backend.reencrypt(try String(contentsOfFile: twoSecret, encoding: .utf8), to: [SopsKeyRef(admin.recipient.encoded)])
            .write(toFile: twoSecret, atomically: true, encoding: .utf8)
        XCTAssertEqual(VarsStatusChecker(clanDirectory: dir, catalog: catalog).exportStatuses()[1].clanText, "Unfixed secret vars:\n  - two/foo\n")
        let fixed = try await engine.fix()
        XCTAssertEqual(fixed, ["vars/per-export/B/two/foo"])
        XCTAssertEqual(try SopsFileRecipients.read(path: twoSecret), [SopsKeyRef(admin.recipient.encoded), web])
        XCTAssertTrue(VarsStatusChecker(clanDirectory: dir, catalog: catalog).exportStatuses().allSatisfy { !$0.hasProblems })
    }
}
