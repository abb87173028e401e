import Foundation
import XCTest
@testable import FleetModel

/// End-to-end `fleet secrets …` on a copy of clan-core's service-dummy-test repository, running
/// the real `fleet` binary (built next to the test bundle; FLEET_BIN overrides).
final class SopsCLITests: XCTestCase {
    var tmp: URL!
    var repo: String!
    var env: [String: String] = [:]

    var fleet: String {
        if let b = ProcessInfo.processInfo.environment["FLEET_BIN"] { return b }
        return Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("fleet").path
    }

    override func setUpWithError() throws {
        tmp = try AgeTestSupport.tempDir()
        repo = tmp.appendingPathComponent("clan").path
        let r = try AgeTestSupport.run(["cp", "-a", SopsRealFixtureTests.dummy.path, repo])
        XCTAssertEqual(r.status, 0, r.stderr)
        env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
               "HOME": tmp.path,
               "SOPS_AGE_KEY_FILE": SopsRealFixtureTests.adminKey.path]
        guard FileManager.default.isExecutableFile(atPath: fleet) else {
            XCTFail("fleet binary not found at \(fleet); run `swift build` first"); return
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func fleetRun(_ args: [String], stdin: [UInt8] = [], extraEnv: [String: String] = [:]) throws -> AgeTestSupport.ToolResult {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: fleet), "fleet binary not found at \(fleet); run `swift build` first")
        return try AgeTestSupport.run([fleet] + args, stdin: stdin, env: env.merging(extraEnv) { $1 })
    }

    func out(_ r: AgeTestSupport.ToolResult) -> String { String(decoding: r.stdout, as: UTF8.self) }

    func testListGetUsersMachines() throws {
        let list = try fleetRun(["secrets", "list", "--repo", repo])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertEqual(out(list), "admin1-age.key\npeer1-age.key\n")
        XCTAssertEqual(out(try fleetRun(["secrets", "--repo", repo, "list", "peer"])), "peer1-age.key\n")
        XCTAssertEqual(out(try fleetRun(["secrets", "users", "list", "--repo", repo])), "admin\n")
        XCTAssertEqual(out(try fleetRun(["secrets", "machines", "list", "--repo", repo])), "admin1\npeer1\n")
        // get prints the raw value: the machine key, 74 bytes, no newline added.
        let get = try fleetRun(["secrets", "get", "peer1-age.key", "--repo", repo])
        XCTAssertEqual(get.status, 0, get.stderr)
        XCTAssertEqual(get.stdout.count, 74)
        XCTAssertEqual(try AgeIdentity(parsing: out(get)).recipient.encoded, "age12w2ld4vxfyf3hdq2d8la4cu0tye4pq97egvv3me4wary7xkdnq2snh0zx2")
        // clan-core's sops 3.7.3 secret with its own key, given inline via SOPS_AGE_KEY.
        let legacy = SopsRealFixtureTests.clan.appendingPathComponent("secrets").path
        let key = try String(contentsOf: SopsRealFixtureTests.clan.appendingPathComponent("secrets/key.age"), encoding: .utf8)
        let foo = try fleetRun(["secrets", "get", "secret", "--repo", legacy], extraEnv: ["SOPS_AGE_KEY": key, "SOPS_AGE_KEY_FILE": ""])
        XCTAssertEqual(out(foo), "foo", foo.stderr)
    }

    func testSetAddAndVerifyAsSopsNix() throws {
        let web = AgeIdentity.generate(), alice = AgeIdentity.generate()
        XCTAssertEqual(try fleetRun(["secrets", "machines", "add", "web1", web.recipient.encoded, "--repo", repo]).status, 0)
        XCTAssertEqual(try fleetRun(["secrets", "users", "add", "alice", alice.recipient.encoded, "--repo", repo]).status, 0)
        let dup = try fleetRun(["secrets", "users", "add", "alice", alice.recipient.encoded, "--repo", repo])
        XCTAssertNotEqual(dup.status, 0)
        XCTAssertTrue(dup.stderr.contains("already exists"), dup.stderr)

        let value = Array("hcloud-token\n\u{1}binary".utf8)
        let set = try fleetRun(["secrets", "set", "hetzner-api-token", "--machine", "web1", "--user", "alice", "--repo", repo], stdin: value)
        XCTAssertEqual(set.status, 0, set.stderr)
        let secret = repo + "/sops/secrets/hetzner-api-token/secret"
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/sops/secrets/hetzner-api-token/machines/web1"), "../../../machines/web1")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/sops/secrets/hetzner-api-token/users/admin"), "../../../users/admin")
        let get = try fleetRun(["secrets", "get", "hetzner-api-token", "--repo", repo])
        XCTAssertEqual(get.stdout, value, get.stderr)

        // sops-nix's rules on the machine: its own key only, MAC checked — by the independent
        // Python implementation (there is no sops binary here).
        let webKey = tmp.appendingPathComponent("web.txt")
        try web.keygenFileText().write(to: webKey, atomically: true, encoding: .utf8)
        let tool = AgeTestSupport.fixtures.appendingPathComponent("tools/sops_mac.py").path
        let v = try AgeTestSupport.run(["python3", tool, secret, webKey.path])
        XCTAssertEqual(v.status, 0, "\(out(v)) \(v.stderr)")
        XCTAssertTrue(out(v).contains("\"data_hex\": \"\(value.map { String(format: "%02x", $0) }.joined())\""))
        XCTAssertEqual(try Sops.recipients(ofFileText: String(contentsOfFile: secret, encoding: .utf8)).count, 3)

        // Replacing web1's key (--force) re-keys the secrets shared with it, as clan does.
        let web2 = AgeIdentity.generate()
        let force = try fleetRun(["secrets", "machines", "add", "web1", web2.recipient.encoded, "--force", "--repo", repo])
        XCTAssertEqual(force.status, 0, force.stderr)
        let rekeyed = try String(contentsOfFile: secret, encoding: .utf8)
        XCTAssertTrue(try Sops.recipients(ofFileText: rekeyed).contains(web2.recipient.encoded))
        XCTAssertFalse(try Sops.recipients(ofFileText: rekeyed).contains(web.recipient.encoded))
        XCTAssertEqual(try Sops.decryptClanSecret(rekeyed, identities: [web2]), value)

        // Errors are one clear line naming the file; nothing secret is printed.
        let missing = try fleetRun(["secrets", "get", "nope", "--repo", repo])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("sops/secrets/nope/secret"), missing.stderr)
        let badMachine = try fleetRun(["secrets", "set", "x", "--machine", "ghost", "--repo", repo], stdin: [1])
        XCTAssertNotEqual(badMachine.status, 0)
        XCTAssertTrue(badMachine.stderr.contains("'ghost' does not exist"), badMachine.stderr)
        let noKey = try fleetRun(["secrets", "get", "hetzner-api-token", "--repo", repo], extraEnv: ["SOPS_AGE_KEY_FILE": ""])
        XCTAssertNotEqual(noKey.status, 0)
        XCTAssertTrue(noKey.stderr.contains("no admin age key"), noKey.stderr)
        XCTAssertFalse(noKey.stderr.contains("hcloud"))
    }

    /// clan commits every `clan secrets` write (an untracked file is invisible to a flake build);
    /// with CLAN_NO_COMMIT set the new paths are only registered (`git add --intent-to-add`).
    func testWritesAreCommittedLikeClanAndCLANNoCommitOnlyRegisters() throws {
        func git(_ args: [String]) throws -> String {
            let r = try AgeTestSupport.run(["git", "-C", repo] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            return String(decoding: r.stdout, as: UTF8.self)
        }
        _ = try git(["init", "-q"])
        _ = try git(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "start", "--allow-empty"])
        _ = try git(["config", "user.name", "t"])
        _ = try git(["config", "user.email", "t@example.invalid"])
        let web = AgeIdentity.generate(), alice = AgeIdentity.generate()
        XCTAssertEqual(try fleetRun(["secrets", "machines", "add", "web1", web.recipient.encoded, "--repo", repo]).status, 0)
        XCTAssertEqual(try fleetRun(["secrets", "users", "add", "alice", alice.recipient.encoded, "--repo", repo]).status, 0)
        let set = try fleetRun(["secrets", "set", "api-token", "--machine", "web1", "--repo", repo], stdin: Array("tok".utf8))
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertEqual(try git(["log", "--format=%s", "-3"]), "secrets: update api-token\nsecrets: add user alice\nsecrets: add machine web1\n")
        XCTAssertEqual(try git(["status", "--porcelain", "sops/secrets/api-token", "sops/users/alice", "sops/machines/web1"]), "")
        XCTAssertTrue(try git(["ls-files", "sops/secrets/api-token"]).contains("sops/secrets/api-token/machines/web1"))

        let head = try git(["rev-parse", "HEAD"])
        let noCommit = try fleetRun(["secrets", "set", "other", "--repo", repo], stdin: Array("v".utf8), extraEnv: ["CLAN_NO_COMMIT": "yes"])
        XCTAssertEqual(noCommit.status, 0, noCommit.stderr)
        XCTAssertEqual(try git(["rev-parse", "HEAD"]), head, "no commit")
        XCTAssertTrue(try git(["status", "--porcelain", "sops/secrets/other"]).contains(" A sops/secrets/other/secret"), "registered with --intent-to-add")
    }
}
