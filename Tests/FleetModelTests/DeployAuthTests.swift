import Foundation
import XCTest
@testable import FleetModel

/// `--host-key-check ask` pieces, the sudo askpass session's pieces, and clan's upload modes. The
/// end-to-end runs (real sshd, sudo, tty) are in tests/e2e/test_deploy_auth.py.
final class DeployAuthTests: XCTestCase {
    func testUnknownVersusChangedHostKey() {
        XCTAssertTrue(HostKeyCheck.isUnknownHost(stderr: "No ED25519 host key is known for 10.0.0.2 and you have requested strict checking.\r\nHost key verification failed.\r\n"))
        XCTAssertTrue(HostKeyCheck.isUnknownHost(stderr: "No ECDSA host key is known for [h]:2222 and you have requested strict checking."))
        XCTAssertFalse(HostKeyCheck.isUnknownHost(stderr: "@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nNo ED25519 host key is known for x\nHost key verification failed."),
                       "a changed key is never asked about")
        XCTAssertFalse(HostKeyCheck.isUnknownHost(stderr: "ssh: connect to host h port 22: Connection refused"))
    }

    func testResolvedKnownHostsNameAndFile() {
        let g = "user alice\nhostname 10.0.0.2\nport 2222\nuserknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2\nhostkeyalias none\n"
        let r = HostKeyCheck.parseResolved(g, home: "/home/a")
        XCTAssertEqual(r, .init(hostname: "10.0.0.2", port: 2222, hostKeyAlias: nil, knownHostsFile: "/home/a/.ssh/known_hosts"))
        XCTAssertEqual(r?.knownHostsName, "[10.0.0.2]:2222")
        let r22 = HostKeyCheck.parseResolved("hostname h\nport 22\nuserknownhostsfile /tmp/kh\nhostkeyalias web\n", home: "/")
        XCTAssertEqual(r22?.knownHostsName, "web")
        XCTAssertEqual(r22?.knownHostsFile, "/tmp/kh")
        XCTAssertNil(HostKeyCheck.parseResolved("garbage", home: "/"))
    }

    /// The fingerprint is exactly what `ssh-keygen -l` prints for the same key (real ssh-keygen).
    func testFingerprintMatchesSSHKeygenAndPreferredKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for t in ["ed25519", "rsa"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
            p.arguments = ["-q", "-t", t, "-N", "", "-f", "\(dir)/\(t)"]
            try p.run(); p.waitUntilExit()
        }
        func fp(_ t: String) throws -> String {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
            p.arguments = ["-lf", "\(dir)/\(t).pub"]
            p.standardOutput = out
            try p.run(); p.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")[1].description
        }
        func pub(_ t: String) throws -> String { try String(contentsOfFile: "\(dir)/\(t).pub", encoding: .utf8).split(separator: " ")[0...1].joined(separator: " ") }
        let scan = "# 10.0.0.2:22 SSH-2.0-OpenSSH\n10.0.0.2 \(try pub("rsa"))\n10.0.0.2 \(try pub("ed25519"))\n"
        let key = try XCTUnwrap(HostKeyCheck.preferredKey(keyscanOutput: scan))
        XCTAssertEqual(key.type, "ssh-ed25519", "ssh prefers ed25519")
        XCTAssertEqual(key.displayType, "ED25519")
        XCTAssertEqual(key.fingerprint, try fp("ed25519"))
        let rsa = try XCTUnwrap(HostKeyCheck.preferredKey(keyscanOutput: "h \(try pub("rsa"))\n"))
        XCTAssertEqual(rsa.fingerprint, try fp("rsa"))

        // Appended as one line, after a last line that lacked its newline; ssh-keygen -F finds it.
        let kh = dir + "/sub/known_hosts"
        try HostKeyCheck.append(key, as: "[10.0.0.2]:2222", to: kh)
        XCTAssertEqual(try String(contentsOfFile: kh, encoding: .utf8), "[10.0.0.2]:2222 \(key.type) \(key.base64)\n")
        try "other ssh-ed25519 AAAA".write(toFile: kh, atomically: true, encoding: .utf8)
        try HostKeyCheck.append(key, as: "h", to: kh)
        XCTAssertEqual(try String(contentsOfFile: kh, encoding: .utf8), "other ssh-ed25519 AAAA\nh \(key.type) \(key.base64)\n")
    }

    func testSudoPrefixAndScriptAreValidBash() throws {
        XCTAssertEqual(SudoAskpass.prefix(scriptPath: "/tmp/tmp.x/askpass.sh"),
                       ["env", "SUDO_ASKPASS=/tmp/tmp.x/askpass.sh", "sudo", "-A", "--"])
        let t = try SSHTarget.parse("alice@h")
        let argv = SudoAskpass.sessionArgv(t, SSHSettings(controlDirectory: "/tmp/c"))
        XCTAssertEqual(Array(argv.suffix(2)), ["alice@h", ShellQuote.join(["bash", "-c", SudoAskpass.remoteScript])])
        // Syntax of the script and of the askpass program it writes (both through real bash / sh).
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-n", "-c", SudoAskpass.remoteScript]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// The askpass session's protocol run locally with real bash, FIFOs and the askpass program it
    /// writes: the password goes in on stdin and comes out of askpass intact (blanks, backslash,
    /// `-n`), never in an argv; "CANCELED" makes askpass fail as sudo expects.
    func testAskpassProtocolWithRealFIFOs() async throws {
        let runner = ProcessRunner()
        let channel = StdinChannel()
        let lines = LineBox()
        let session = Task {
            try await runner.stream(ProcessSpec(argv: ["bash", "-c", SudoAskpass.remoteScript], stdinChannel: channel, timeout: .seconds(30)),
                                    onStdoutLine: { lines.add($0) }, onStderrLine: { _ in })
        }
        func waitLine(_ prefix: String) async throws -> String {
            for _ in 0..<300 {
                if let l = lines.lines.first(where: { $0.hasPrefix(prefix) }) { return l }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw XCTSkip("no \(prefix) line")
        }
        let script = String(try await waitLine("ASKPASS_SCRIPT:").dropFirst("ASKPASS_SCRIPT:".count)).trimmingCharacters(in: .whitespaces)
        let pid = String(try await waitLine("ASKPASS_PID:").dropFirst("ASKPASS_PID:".count)).trimmingCharacters(in: .whitespaces)
        let secret = "  -n a\\b c "
        async let answer = runner.run(ProcessSpec(argv: [script, "[sudo] password for alice: "], timeout: .seconds(20)))
        _ = try await waitLine("PASSWORD_REQUESTED: [sudo] password for alice:")
        XCTAssertTrue(channel.send(Array((secret + "\n").utf8)))
        let r = try await answer
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdoutString, secret + "\n")
        async let refused = runner.run(ProcessSpec(argv: [script], timeout: .seconds(20)))
        for _ in 0..<300 where lines.lines.filter({ $0.hasPrefix("PASSWORD_REQUESTED:") }).count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        channel.send(Array("CANCELED\n".utf8))
        let refusedStatus = try await refused.status
        XCTAssertEqual(refusedStatus, 1)
        // Stopped by pid (as at the end of a deploy): the EXIT trap removes the askpass dir.
        _ = try await runner.run(ProcessSpec(argv: ["kill", "-TERM", pid]))
        let end = try await session.value
        XCTAssertEqual(end.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: script))
    }

    func testSudoFailureMessages() {
        let s = SudoAskpass(host: "tb1", target: SSHTarget(user: "alice", host: "tb1"), interaction: nil)
        XCTAssertEqual(s.failureMessage(stderr: "sudo: 3 incorrect password attempts"), "sudo refused the password of alice on tb1 (incorrect password)")
        XCTAssertEqual(s.failureMessage(stderr: "alice is not in the sudoers file."), "alice may not use sudo on tb1 (sudoers)")
        XCTAssertNil(s.failureMessage(stderr: "switch-to-configuration: failed"))
    }

    func testUploadForcesModeAndRefusesShallowDirectories() throws {
        let plan = try SecretUploadPlan(secrets: [UploadSecret(remotePath: "/var/lib/sops-nix/activation/per-machine/m/g/f", mode: 0o644, bytes: [1])])
        // Header of the file entry: the third 512-byte block after the dirs activation/, …/m/, …/g/.
        let headers = stride(from: 0, to: plan.archive.count - 1024, by: 512).map { Array(plan.archive[$0..<$0 + 512]) }
            .filter { $0[257..<262] == ArraySlice("ustar".utf8) }
        let modes = headers.map { String(decoding: $0[100..<107], as: UTF8.self) }
        let types = headers.map { $0[156] }
        XCTAssertEqual(zip(types, modes).filter { $0.0 == UInt8(ascii: "0") }.map(\.1), ["0000400"], "files 0400 whatever the var says")
        XCTAssertEqual(Set(zip(types, modes).filter { $0.0 == UInt8(ascii: "5") }.map(\.1)), ["0000700"])
        for bad in ["/var", "/home/alice", "/"] {
            XCTAssertThrowsError(try SecretUploadPlan(secrets: [], directory: bad), bad)
        }
        XCTAssertNoThrow(try SecretUploadPlan(secrets: [], directory: "/etc/secrets"))
        XCTAssertNoThrow(try SecretUploadPlan(secrets: [], directory: "/run/secrets/up"))
    }
}
