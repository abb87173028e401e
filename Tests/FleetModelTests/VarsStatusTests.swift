import FleetModel
import Foundation
import XCTest

final class VarsStatusTests: XCTestCase {
    let alice = SopsKeyRef("age1lmqahdfgccggl5gyqxm6840pevsane3pqxsgsz5wcyvdtshw7y8qduk9tf")
    let bob = SopsKeyRef("age12mts0eh048k764fqtkjulhd7z4a6duhwqmwyzw0up0vpc0ehly3seddkpa")

    private func checker(_ dir: String, admin: Set<SopsKeyRef>? = nil) throws -> VarsStatusChecker {
        let catalog = try GeneratorsFile(path: dir + "/generators.json").load()
        return VarsStatusChecker(clanDirectory: dir, catalog: catalog, adminRecipients: admin)
    }

    private func file(_ s: MachineVarsStatus, _ gen: String, _ f: String) -> VarFileStatus? {
        s.generators.first { $0.id.name == gen }?.files.first { $0.file.name == f }
    }

    func testFixtureSymlinksSurviveTheBundleCopy() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/vars/per-machine/m1/ok-gen/key/machines/m1")
        XCTAssertEqual(link, "../../../../../../sops/machines/m1")
    }

    func testEveryStatusKindOnMachineM1() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let s = try checker(dir, admin: [alice]).status(machine: "m1")
        XCTAssertNil(file(s, "ok-gen", "key")?.problem)
        XCTAssertNil(file(s, "ok-gen", "key.pub")?.problem)
        XCTAssertEqual(file(s, "ok-gen", "key")?.adminCanDecrypt, true)
        XCTAssertTrue(s.generators.first { $0.id.name == "ok-gen" }!.isOK)
        XCTAssertEqual(file(s, "missing-gen", "secret-file")?.problem, .missingSecret)
        XCTAssertEqual(file(s, "missing-gen", "pub-file")?.problem, .missingPublic)
        XCTAssertEqual(file(s, "drift-gen", "s")?.problem, .unfixed(added: [bob], extra: []))
        XCTAssertNil(file(s, "shared-gen", "s")?.problem, "m1 is a recipient of the shared secret")
        XCTAssertEqual(s.invalidGenerators, ["outdated-gen"])
        XCTAssertEqual(s.missingSecretVars.map(\.id), ["missing-gen/secret-file"])
        XCTAssertEqual(s.missingPublicVars.map(\.id), ["missing-gen/pub-file"])
        XCTAssertEqual(s.unfixedSecretVars.map(\.id), ["drift-gen/s"])
        XCTAssertTrue(s.hasProblems)
        XCTAssertEqual(s.clanText, """
            Missing secret vars:
              - missing-gen/secret-file
            Missing public vars:
              - missing-gen/pub-file
            Unfixed secret vars:
              - drift-gen/s
            Invalid generators (outdated invalidation hash):
              - outdated-gen

            """)
    }

    func testMissingAccessExtraKeyAndUndecryptableOnMachineM2() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let s = try checker(dir, admin: [alice]).status(machine: "m2")
        XCTAssertEqual(file(s, "shared-gen", "s")?.problem, .missingAccess(machine: "m2"))
        XCTAssertEqual(file(s, "extra-gen", "s")?.problem, .unfixed(added: [], extra: [alice]))
        XCTAssertNil(file(s, "bob-only", "s")?.problem)
        XCTAssertEqual(file(s, "bob-only", "s")?.adminCanDecrypt, false, "alice is not a recipient")
        XCTAssertEqual(s.undecryptableVars.map(\.id), ["bob-only/s"])
        XCTAssertEqual(s.missingSecretVars.map(\.id), ["shared-gen/s"])
        XCTAssertEqual(s.invalidGenerators, [])
        let owners = file(s, "bob-only", "s")?.recipients.map { $0.owners.map(\.description) }
        XCTAssertEqual(Set(owners?.flatMap { $0 } ?? []), ["user:bob", "machine:m2"])
    }

    func testAllOKAfterRemovingTheProblems() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let s = try checker(dir).status(machine: "m1", generatorName: "ok-gen")
        XCTAssertFalse(s.hasProblems)
        XCTAssertEqual(s.clanText, "All vars are present and valid.")
        XCTAssertNil(s.generators[0].files[0].adminCanDecrypt, "no admin key given: unknown")
    }

    func testValidationHashRules() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let c = try checker(dir)
        // A stored hash for a generator without validation is invalid too (stored != nil).
        try "abc".write(toFile: dir + "/vars/per-machine/m1/drift-gen/.validation-hash", atomically: true, encoding: .utf8)
        XCTAssertEqual(try c.status(machine: "m1").invalidGenerators.sorted(), ["drift-gen", "outdated-gen"])
        // A trailing newline is stripped, as clan's read_text().strip() does.
        try "6d6cc776162a92e28c6160f78c7be4ba7daa12eadeedc2f8f118e48582fec300\n".write(
            toFile: dir + "/vars/per-machine/m1/ok-gen/.validation-hash", atomically: true, encoding: .utf8)
        XCTAssertTrue(try c.status(machine: "m1", generatorName: "ok-gen").generators[0].validationOK)
    }

    func testLinksIntoTheWrongFolderOrNowhereAreIgnoredLikeClan() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let secret = dir + "/vars/per-machine/m1/ok-gen/key"
        // A users/ link that points at a machine, and one that points nowhere: clan warns and ignores both.
        try FileManager.default.createSymbolicLink(atPath: secret + "/users/evil", withDestinationPath: "../../../../../../sops/machines/m2")
        try FileManager.default.createSymbolicLink(atPath: secret + "/users/gone", withDestinationPath: "../../../../../../sops/users/gone")
        // A plain file is not a link at all.
        try "x".write(toFile: secret + "/users/plain", atomically: true, encoding: .utf8)
        let links = SecretLinks.read(secretDir: secret)
        XCTAssertEqual(links.users, ["alice"])
        XCTAssertEqual(links.broken.map { ($0 as NSString).lastPathComponent }, ["evil", "gone"])
        XCTAssertNil(file(try checker(dir).status(machine: "m1"), "ok-gen", "key")?.problem, "ignored links change no wanted recipient")
    }

    func testUnknownGeneratorIsAnError() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        XCTAssertThrowsError(try checker(dir).status(machine: "m1", generatorName: "nope")) { e in
            XCTAssertEqual("\(e)", "Generator 'nope' not found in machine m1")
        }
    }

    func testCheckJSONListsEachProblemOnce() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let c = try checker(dir)
        let json = VarsJSON.check([try c.status(machine: "m1"), try c.status(machine: "m2")])
        XCTAssertEqual(json["ok"], .bool(false))
        let kinds = (json["machines"]?.arrayValue ?? []).flatMap { m in
            (m["problems"]?.arrayValue ?? []).map { p in
                "\(p["machine"]?.stringValue ?? "")/\(p["generator"]?.stringValue ?? ""):\(p["kind"]?.stringValue ?? "")"
            }
        }
        XCTAssertEqual(kinds.sorted(), ["m1/drift-gen:unfixed", "m1/missing-gen:missing-public", "m1/missing-gen:missing-secret",
                                        "m1/outdated-gen:invalid", "m2/extra-gen:unfixed", "m2/shared-gen:missing-access"])
    }

    func testDiskScanWithoutDefinitions() throws {
        let dir = try VarsFixtures.copy("status", test: self)
        let scan = VarsDiskScan.scan(clanDirectory: dir, inventoryMachines: ["m1", "m2"])
        XCTAssertEqual(scan.orphanMachines, ["ghost"])
        XCTAssertEqual(scan.unknownKeys.map(\.publicKey), ["age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"])
        let ids = scan.entries.map { "\($0.machine ?? "shared")/\($0.id):\($0.kind.rawValue)\($0.orphan ? ":orphan" : "")\($0.drift ? ":drift" : "")" }
        XCTAssertEqual(ids, [
            "ghost/state-version/version:public:orphan", "ghost/tor/hostname:secret:orphan:drift",
            "m1/drift-gen/s:secret:drift", "m1/ok-gen/key:secret", "m1/ok-gen/key.pub:public", "m1/outdated-gen/v:public",
            "m2/bob-only/s:secret", "m2/extra-gen/s:secret:drift", "shared/shared-gen/s:secret",
        ])
        let shared = scan.entries.first { $0.machine == nil }
        XCTAssertEqual(shared?.links.machines, ["m1"])
        XCTAssertEqual(shared?.recipients.flatMap { $0.owners }.sorted(), [.machine("m1"), .user("alice")].sorted())
        XCTAssertEqual(scan.validationHashes["per-machine/m1/outdated-gen"], String(repeating: "0", count: 64))
        XCTAssertEqual(scan.entries.first { $0.id == "ok-gen/key.pub" }?.value, Array("ssh-ed25519 AAAAfixture".utf8))
    }
}
