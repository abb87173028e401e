import XCTest
@testable import FleetModel

/// The secret upload archive, unpacked by the real `tar` with clan's remote command (run locally
/// against a temp dir standing in for /var/lib/sops-nix).
final class DeploySecretUploadTests: XCTestCase {
    func testClanLayoutWipedAndPermissions() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-upload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dest = root + "/var/lib/sops-nix"
        try FileManager.default.createDirectory(atPath: dest + "/activation/old", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dest + "/stale.txt", contents: Data("old".utf8))

        let key = Array("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n".utf8)
        let long = dest + "/activation/per-machine/" + String(repeating: "m", count: 60) + "/generator-name/" + String(repeating: "f", count: 40)
        let plan = try SecretUploadPlan(secrets: [
            UploadSecret(remotePath: dest + "/key.txt", bytes: key),
            UploadSecret(remotePath: dest + "/activation/per-machine/tb1/luks/passphrase", mode: 0o440, bytes: Array("hunter22".utf8)),
            UploadSecret(remotePath: long, bytes: [0, 1, 2, 255]),
        ], directory: dest)
        XCTAssertEqual(plan.fileCount, 3)
        XCTAssertEqual(plan.remoteArgv.prefix(2), ["bash", "-c"])

        let r = try await ProcessRunner().run(ProcessSpec(argv: plan.remoteArgv, stdin: plan.archive))
        XCTAssertEqual(r.status, 0, r.stderrString)

        let fm = FileManager.default
        XCTAssertFalse(fm.fileExists(atPath: dest + "/stale.txt"), "destination wiped first")
        XCTAssertFalse(fm.fileExists(atPath: dest + "/activation/old"))
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: dest + "/key.txt"))), key)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: long))), [0, 1, 2, 255])
        func mode(_ p: String) throws -> Int { (try fm.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue }
        XCTAssertEqual(try mode(dest), 0o700)
        XCTAssertEqual(try mode(dest + "/key.txt"), 0o400)
        XCTAssertEqual(try mode(dest + "/activation/per-machine/tb1/luks/passphrase"), 0o400, "clan's upload.py forces 0400")
        XCTAssertEqual(try mode(dest + "/activation/per-machine/tb1"), 0o700)
        if getuid() == 0 {
            XCTAssertEqual((try fm.attributesOfItem(atPath: dest + "/key.txt")[.ownerAccountID] as! NSNumber).intValue, 0)
        }
    }

    func testTarIsReadByRealTar() async throws {
        var w = TarWriter()
        try w.addDirectory("d", mode: 0o700)
        try w.addFile("d/f", mode: 0o400, bytes: Array("x".utf8))
        let r = try await ProcessRunner().run(ProcessSpec(argv: ["tar", "-tvf", "-"], stdin: w.finish()))
        XCTAssertEqual(r.status, 0, r.stderrString)
        XCTAssertTrue(r.stdoutString.contains("-r-------- root/root         1 1970-01-01 00:00 d/f"), r.stdoutString)
    }

    func testRejectsPathsOutsideTheDirectory() {
        for p in ["/etc/shadow", "/var/lib/sops-nix", "/var/lib/sops-nix/../x", "/var/lib/sops-nix//x", "/var/lib/sops-nixx/y"] {
            XCTAssertThrowsError(try SecretUploadPlan(secrets: [UploadSecret(remotePath: p, bytes: [1])]), p)
        }
        XCTAssertThrowsError(try SecretUploadPlan(secrets: [UploadSecret(remotePath: "/var/lib/sops-nix/k", mode: 0o4755, bytes: [1])]))
    }

    func testRedactorMasksSecretValues() {
        let r = Redactor(secrets: [Array("hunter22-long\n".utf8), Array("abc".utf8)])
        XCTAssertEqual(r.redact("password is hunter22-long!"), "password is ********!")
        XCTAssertEqual(r.redact("abc stays"), "abc stays", "too short to mask safely")
    }
}

/// clan's upload set from the demo clan's real sops/vars files, decrypted with a demo admin key.
final class DeployClanSecretsTests: XCTestCase {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("inventory").path

    func testMachineKeyAndActivationSecrets() async throws {
        let provider = ClanSecrets.provider(clanDirectory: Self.demo,
                                            environment: ["SOPS_AGE_KEY_FILE": Self.demo + "/demo-keys/crs58.txt", "HOME": "/nonexistent"])
        let secrets = try await provider(Machine(name: "cinnabar"))
        XCTAssertEqual(secrets.map(\.remotePath), ["/var/lib/sops-nix/key.txt",
                                                   "/var/lib/sops-nix/activation/per-machine/cinnabar/initrd-ssh/id_ed25519"])
        // The decrypted machine key is the private half of sops/machines/cinnabar/key.json.
        let key = String(decoding: secrets[0].bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try AgeIdentity(parsing: key).recipient.encoded, "age1zxk8n6ae4eee2hv3es8zf73xk93russxte8kspgtj9ddvayymcvqyaz2nl")
        XCTAssertTrue(String(decoding: secrets[1].bytes, as: UTF8.self).hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))
        XCTAssertEqual(secrets.map(\.mode), [0o400, 0o400])
        // services/users secrets (openssh, user-password-root, …) are not uploaded.
        XCTAssertFalse(secrets.contains { $0.remotePath.contains("openssh") || $0.remotePath.contains("user-password") })
        XCTAssertNoThrow(try SecretUploadPlan(secrets: secrets))
    }

    func testNoSecretsNeedsNoKeys() async throws {
        let provider = ClanSecrets.provider(clanDirectory: Self.demo, environment: ["HOME": "/nonexistent"])
        let none = try await provider(Machine(name: "not-in-the-demo"))
        XCTAssertTrue(none.isEmpty)
        do {
            _ = try await provider(Machine(name: "cinnabar"))
            XCTFail("decrypting without admin keys must fail")
        } catch {
            XCTAssertTrue("\(error)".lowercased().contains("key"), "\(error)")
        }
    }
}
