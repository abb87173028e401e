import Foundation
import XCTest
@testable import FleetModel

/// clan's `sops/` key layout: key.json forms, symlinked recipients, machine keys, admin keys.
final class KeysStoreTests: XCTestCase {
    var tmp: URL!
    override func setUpWithError() throws { tmp = try AgeTestSupport.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A writable copy of a fixture tree (symlinks preserved by `cp -a`).
    func copyFixture(_ rel: String) throws -> String {
        let src = SopsRealFixtureTests.clan.appendingPathComponent(rel).path
        let dst = tmp.appendingPathComponent("clan").path
        let r = try AgeTestSupport.run(["cp", "-a", src, dst])
        XCTAssertEqual(r.status, 0, r.stderr)
        return dst
    }

    func testKeyJsonBothForms() throws {
        let store = SopsKeyStore(clanDirectory: SopsRealFixtureTests.clan.appendingPathComponent("secrets").path)
        // Legacy object form (clan checks/secrets).
        XCTAssertEqual(try store.users(), ["admin": ["age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"]])
        XCTAssertEqual(try store.machines(), ["machine": ["age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"]])
        // Array form (service-dummy-test).
        let dummy = SopsKeyStore(clanDirectory: SopsRealFixtureTests.dummy.path)
        XCTAssertEqual(try dummy.users()["admin"], ["age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg"])
        XCTAssertEqual(Set(try dummy.machines().keys), ["admin1", "peer1"])
        // Bad key.json names the file.
        let dir = tmp.appendingPathComponent("sops/users/bob")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "[{\"type\": \"age\"}]".write(to: dir.appendingPathComponent("key.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SopsKeyStore(clanDirectory: tmp.path).users()) { e in
            XCTAssertTrue("\(e)".contains("bob/key.json") && "\(e)".contains("publickey"), "\(e)")
        }
    }

    func testRecipientsFromSymlinksAsClanMadeThem() throws {
        // Fixture symlinks survive the resource copy and resolve relative to their folder.
        let dummy = SopsKeyStore(clanDirectory: SopsRealFixtureTests.dummy.path)
        let varDir = SopsRealFixtureTests.dummy.appendingPathComponent("vars/per-machine/peer1/dummy-generator/generated-password").path
        let wanted = try dummy.recipients(ofSecretDirectory: varDir)
        XCTAssertEqual(wanted, ["age12w2ld4vxfyf3hdq2d8la4cu0tye4pq97egvv3me4wary7xkdnq2snh0zx2", "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg"])
        // ...which is exactly the recipient list stored in the file (clan's health check).
        let file = try String(contentsOfFile: varDir + "/secret", encoding: .utf8)
        XCTAssertEqual(try Sops.recipients(ofFileText: file).sorted(), wanted)
        // Groups: checks/secrets has group-secret -> groups/group -> machines/machine.
        let legacy = SopsKeyStore(clanDirectory: SopsRealFixtureTests.clan.appendingPathComponent("secrets").path)
        XCTAssertEqual(try legacy.recipients(ofSecretDirectory: legacy.secretDirectory("group-secret")), ["age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"])
        XCTAssertEqual(try legacy.secrets(), ["group-secret", "secret"])
    }

    func testAddUsersMachinesAndWriteSecret() throws {
        let clan = try copyFixture("service-dummy-test")
        let store = SopsKeyStore(clanDirectory: clan)
        let admin = try SopsRealFixtureTests.identities(SopsRealFixtureTests.adminKey)
        let alice = AgeIdentity.generate(), web = AgeIdentity.generate()
        try store.addUser("alice", recipient: alice.recipient.encoded)
        XCTAssertThrowsError(try store.addUser("alice", recipient: alice.recipient.encoded)) { e in
            XCTAssertTrue("\(e)".contains("already exists"), "\(e)")
        }
        XCTAssertThrowsError(try store.addUser("Bad Name", recipient: alice.recipient.encoded))
        XCTAssertThrowsError(try store.addUser("bob", recipient: "age1notakey"))
        try store.addMachine("web1", recipient: web.recipient.encoded)
        // key.json as clan's json.dump(indent=2) writes it.
        XCTAssertEqual(try String(contentsOfFile: clan + "/sops/users/alice/key.json", encoding: .utf8),
                       "[\n  {\n    \"publickey\": \"\(alice.recipient.encoded)\",\n    \"type\": \"age\"\n  }\n]")
        XCTAssertEqual(try store.machines()["web1"], [web.recipient.encoded])

        try store.writeSecret("tf-passphrase", value: Array("s3cret".utf8), adminRecipients: admin.map(\.recipient), machines: ["web1"])
        let dir = store.secretDirectory("tf-passphrase")
        // Links are relative, exactly as clan's os.path.relpath makes them.
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/machines/web1"), "../../../machines/web1")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/users/admin"), "../../../users/admin")
        let text = try String(contentsOfFile: dir + "/secret", encoding: .utf8)
        XCTAssertEqual(try Sops.recipients(ofFileText: text).sorted(), [web.recipient.encoded, admin[0].recipient.encoded].sorted())
        XCTAssertEqual(try store.readSecret("tf-passphrase", identities: [web]), Array("s3cret".utf8))
        XCTAssertEqual(try store.secrets(), ["admin1-age.key", "peer1-age.key", "tf-passphrase"])
        // No temp files left behind by the atomic writes.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [])

        // Adding a user link then updating re-encrypts to the new set with the same value.
        try store.allow("users", "alice", secretDirectory: dir)
        XCTAssertTrue(try store.updateRecipients("tf-passphrase", identities: admin))
        XCTAssertEqual(try store.readSecret("tf-passphrase", identities: [alice]), Array("s3cret".utf8))
        XCTAssertFalse(try store.updateRecipients("tf-passphrase", identities: admin))
        XCTAssertThrowsError(try store.writeSecret("x", value: [1], adminRecipients: admin.map(\.recipient), machines: ["nope"])) { e in
            XCTAssertTrue("\(e)".contains("'nope' does not exist"), "\(e)")
        }
        XCTAssertThrowsError(try store.readSecret("missing", identities: admin)) { e in
            XCTAssertTrue("\(e)".contains("missing/secret"), "\(e)")
        }
    }

    func testCreateMachineKeyAsClanDoes() throws {
        let clan = try copyFixture("service-dummy-test")
        let store = SopsKeyStore(clanDirectory: clan)
        let admin = try SopsRealFixtureTests.identities(SopsRealFixtureTests.adminKey)
        let r = try store.createMachineKey("db1", adminRecipients: admin.map(\.recipient))
        XCTAssertEqual(try store.machines()["db1"], [r.encoded])
        let secretDir = store.secretDirectory("db1-age.key")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: secretDir + "/users/admin"), "../../../users/admin")
        let id = try store.machineIdentity("db1", adminIdentities: admin)
        XCTAssertEqual(id.recipient, r)
        // The stored value is the bare 74-character identity, no newline (as clan stores it).
        XCTAssertEqual(try store.readSecret("db1-age.key", identities: admin).count, 74)
        XCTAssertThrowsError(try store.createMachineKey("db1", adminRecipients: admin.map(\.recipient)))
        // The age CLI agrees: the machine key decrypts what age encrypts to the recipient.
        try id.keygenFileText().write(to: tmp.appendingPathComponent("m.txt"), atomically: true, encoding: .utf8)
        let enc = try AgeTestSupport.run(["age", "-e", "-r", r.encoded], stdin: Array("hi".utf8))
        XCTAssertEqual(try Age.decrypt(enc.stdout, with: [id]), Array("hi".utf8))
    }

    /// A vars secret: links six levels up, as in clan's own fixtures.
    func testWriteVarsSecretDirectory() throws {
        let clan = try copyFixture("service-dummy-test")
        let store = SopsKeyStore(clanDirectory: clan)
        let admin = try SopsRealFixtureTests.identities(SopsRealFixtureTests.adminKey)
        let dir = clan + "/vars/per-machine/peer1/new-gen/token"
        try store.writeSecret(directory: dir, value: Array("tok".utf8), adminRecipients: admin.map(\.recipient), machines: ["peer1"])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/machines/peer1"), "../../../../../../sops/machines/peer1")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/users/admin"), "../../../../../../sops/users/admin")
        let machine = try store.machineIdentity("peer1", adminIdentities: admin)
        XCTAssertEqual(try store.readSecret(directory: dir, identities: [machine]), Array("tok".utf8))
        let text = try String(contentsOfFile: dir + "/secret", encoding: .utf8)
        XCTAssertEqual(try Sops.recipients(ofFileText: text).sorted(), try store.recipients(ofSecretDirectory: dir))
    }

    func testAdminKeysFromEnvironment() throws {
        let a = AgeIdentity.generate(), b = AgeIdentity.generate(), c = AgeIdentity.generate()
        let fileB = tmp.appendingPathComponent("b.txt")
        try b.keygenFileText().write(to: fileB, atomically: true, encoding: .utf8)
        let cfg = tmp.appendingPathComponent("home/.config/sops/age")
        try FileManager.default.createDirectory(at: cfg, withIntermediateDirectories: true)
        try c.keygenFileText().write(to: cfg.appendingPathComponent("keys.txt"), atomically: true, encoding: .utf8)
        let home = tmp.appendingPathComponent("home").path

        XCTAssertEqual(try AdminKeys.load(environment: ["SOPS_AGE_KEY": a.encoded, "HOME": "/nonexistent"]).map(\.recipient), [a.recipient])
        XCTAssertEqual(try AdminKeys.load(environment: ["SOPS_AGE_KEY_FILE": fileB.path, "HOME": "/nonexistent"]).map(\.recipient), [b.recipient])
        XCTAssertEqual(try AdminKeys.load(environment: ["HOME": home]).map(\.recipient), [c.recipient])
        XCTAssertEqual(try AdminKeys.load(environment: ["XDG_CONFIG_HOME": home + "/.config", "HOME": "/x"]).map(\.recipient), [c.recipient])
        XCTAssertEqual(try AdminKeys.load(environment: ["SOPS_AGE_KEY": a.encoded + "\n" + b.encoded, "SOPS_AGE_KEY_FILE": fileB.path, "HOME": home]).map(\.recipient),
                       [a.recipient, b.recipient, c.recipient])
        // Who the admin is: clan's precedence, one source only (clan_cli/secrets/sops.py:91-121).
        XCTAssertEqual(try AdminKeys.publicKeys(environment: ["SOPS_AGE_KEY": a.encoded + "\n" + b.encoded, "SOPS_AGE_KEY_FILE": fileB.path, "HOME": home]),
                       [a.recipient.encoded, b.recipient.encoded])
        XCTAssertEqual(try AdminKeys.publicKeys(environment: ["SOPS_AGE_KEY_FILE": fileB.path, "HOME": home]), [b.recipient.encoded],
                       "keys.txt is not consulted when SOPS_AGE_KEY_FILE is set")
        XCTAssertEqual(try AdminKeys.publicKeys(environment: ["HOME": home]), [c.recipient.encoded])
        XCTAssertEqual(try AdminKeys.publicKeys(environment: ["SOPS_AGE_KEY_FILE": "/nonexistent/k.txt", "HOME": home]), [], "a missing file gives no key, as in clan")
        // A plugin identity contributes the recipient of its `# recipient:` comment.
        XCTAssertEqual(try AdminKeys.publicKeys(environment: ["SOPS_AGE_KEY": "# recipient: age1yubikey1qexample\nAGE-PLUGIN-YUBIKEY-1EXAMPLE\n"]),
                       ["age1yubikey1qexample"])
        XCTAssertThrowsError(try AdminKeys.publicKeys(environment: ["SOPS_AGE_KEY": "AGE-PLUGIN-YUBIKEY-1EXAMPLE"])) { e in
            XCTAssertTrue("\(e)".contains("# recipient: age1xxxxxxxx"), "\(e)")
        }
        XCTAssertThrowsError(try AdminKeys.load(environment: ["HOME": "/nonexistent"])) { e in
            XCTAssertTrue("\(e)".contains("no admin age key"), "\(e)")
        }
        XCTAssertThrowsError(try AdminKeys.load(environment: ["SOPS_AGE_KEY_FILE": "/nonexistent/k.txt"])) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/k.txt"), "\(e)")
        }
        XCTAssertThrowsError(try AdminKeys.load(environment: ["SOPS_AGE_KEY": "not a key"])) { e in
            XCTAssertTrue("\(e)".contains("SOPS_AGE_KEY"), "\(e)")
        }
    }

    func testAtomicWriteReplacesWholeFile() throws {
        let f = tmp.appendingPathComponent("f").path
        try AtomicFile.write("old contents that are long", to: f)
        try AtomicFile.write("new", to: f)
        XCTAssertEqual(try String(contentsOfFile: f, encoding: .utf8), "new")
        XCTAssertThrowsError(try AtomicFile.write("x", to: tmp.appendingPathComponent("no/such/dir/f").path)) { e in
            XCTAssertTrue("\(e)".contains("no/such/dir"), "\(e)")
        }
    }
}
