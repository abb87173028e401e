import Foundation
import XCTest
@testable import FleetModel

/// Decrypts real sops files written by sops for clan-core and sops-nix (Fixtures/sops-real,
/// see its README for sources and licences), with MAC verification.
final class SopsRealFixtureTests: XCTestCase {
    static var real: URL { AgeTestSupport.fixtures.appendingPathComponent("sops-real") }
    static var clan: URL { real.appendingPathComponent("clan-core/checks") }
    static var dummy: URL { clan.appendingPathComponent("service-dummy-test") }

    static func text(_ u: URL) throws -> String { try String(contentsOf: u, encoding: .utf8) }
    static func identities(_ u: URL) throws -> [AgeIdentity] { try AgeIdentity.parseFile(text(u), source: u.path) }

    static var adminKey: URL { clan.appendingPathComponent("assets/test-age-key.txt") }
    static var passwordSecret: URL { dummy.appendingPathComponent("vars/per-machine/peer1/dummy-generator/generated-password/secret") }

    func testClanSops373SecretDecrypts() throws {
        let ids = try Self.identities(Self.clan.appendingPathComponent("secrets/key.age"))
        XCTAssertEqual(ids.map(\.recipient.encoded), ["age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"])
        let file = try Self.text(Self.clan.appendingPathComponent("secrets/sops/secrets/secret/secret"))
        XCTAssertEqual(try Sops.decryptClanSecret(file, identities: ids), Array("foo".utf8))
        XCTAssertEqual(try Sops.recipients(ofFileText: file), ["age15x8u838dwqflr3t6csf4tlghxm4tx77y379ncqxav7y2n8qp7yzqgrwt00"])
    }

    func testClanVarWithTwoRecipientsAndMachineKey() throws {
        let admin = try Self.identities(Self.adminKey)
        XCTAssertEqual(admin.map(\.recipient.encoded), ["age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg"])
        let file = try Self.text(Self.passwordSecret)
        XCTAssertEqual(try Sops.decryptClanSecret(file, identities: admin), Array("30102\n".utf8))
        XCTAssertEqual(try Sops.recipients(ofFileText: file), [
            "age12w2ld4vxfyf3hdq2d8la4cu0tye4pq97egvv3me4wary7xkdnq2snh0zx2",
            "age1qm0p4vf9jvcnn43s6l4prk8zn6cx0ep9gzvevxecv729xz540v8qa742eg",
        ])
        // The machine's private key is itself a clan secret, encrypted to the admin.
        let store = SopsKeyStore(clanDirectory: Self.dummy.path)
        let machine = try store.machineIdentity("peer1", adminIdentities: admin)
        XCTAssertEqual(machine.recipient.encoded, "age12w2ld4vxfyf3hdq2d8la4cu0tye4pq97egvv3me4wary7xkdnq2snh0zx2")
        XCTAssertEqual(machine.encoded.count, 74)
        // ...and that machine key alone decrypts the var, as sops-nix does on the machine.
        XCTAssertEqual(try Sops.decryptClanSecret(file, identities: [machine]), Array("30102\n".utf8))
        XCTAssertEqual(try store.machines()["peer1"], ["age12w2ld4vxfyf3hdq2d8la4cu0tye4pq97egvv3me4wary7xkdnq2snh0zx2"])
    }

    func testSopsNixYAMLFixtureDecryptsWithMAC() throws {
        let dir = Self.real.appendingPathComponent("sops-nix/pkgs/sops-install-secrets/test-assets")
        // PyYAML keeps key order; JSON has the same leaves, so sops's MAC must still verify.
        let r = try AgeTestSupport.run(["python3", "-c", "import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                                        dir.appendingPathComponent("secrets.yaml").path])
        XCTAssertEqual(r.status, 0, "python3 with PyYAML is required: \(r.stderr)")
        let json = String(decoding: r.stdout, as: UTF8.self)
        let ids = try Self.identities(dir.appendingPathComponent("age-keys.txt"))
        let tree = try Sops.decryptDocument(json, identities: ids)
        XCTAssertEqual(tree["test_key"]?.stringValue, "test_value")
        XCTAssertEqual(tree["a_list"]?.arrayValue?.compactMap(\.stringValue).count, 2)
        XCTAssertNotNil(tree["nested"]?["test"]?["file"]?.stringValue)
        XCTAssertEqual(try Sops.recipients(ofFileText: json).count, 2)
        // Moving a list element's value to the nested key breaks its AAD.
        let swapped = json.replacingOccurrences(of: "ENC[AES256_GCM,data:oOQ=", with: "ENC[AES256_GCM,data:oOR=")
        XCTAssertThrowsError(try Sops.decryptDocument(swapped, identities: ids)) { e in
            XCTAssertTrue("\(e)".contains("a_list"), "\(e)")
        }
    }

    /// The independent Python verifier agrees on the real files (sanity check of the checker).
    func testPythonVerifierAcceptsRealFiles() throws {
        let tool = AgeTestSupport.fixtures.appendingPathComponent("tools/sops_mac.py").path
        let r = try AgeTestSupport.run(["python3", tool, Self.passwordSecret.path, Self.adminKey.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("\"data_hex\": \"33303130320a\""))
    }
}
