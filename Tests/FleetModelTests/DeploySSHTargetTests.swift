import XCTest
@testable import FleetModel

/// Every address form clan accepts (clan_lib/ssh/remote.py `_parse_ssh_uri`, clan-formats.md §3.4).
final class DeploySSHTargetTests: XCTestCase {
    func testHostOnlyDefaultsToRoot() throws {
        let t = try SSHTarget.parse("web1.example.org")
        XCTAssertEqual(t, SSHTarget(user: "root", host: "web1.example.org", port: nil))
        XCTAssertEqual(t.sshDestination, "root@web1.example.org")
        XCTAssertEqual(t.storeURI, "ssh-ng://root@web1.example.org")
    }

    func testUserAtHost() throws {
        XCTAssertEqual(try SSHTarget.parse("admin@10.0.0.5"), SSHTarget(user: "admin", host: "10.0.0.5"))
    }

    func testUserAtHostPort() throws {
        let t = try SSHTarget.parse("admin@10.0.0.5:2222")
        XCTAssertEqual(t, SSHTarget(user: "admin", host: "10.0.0.5", port: 2222))
        XCTAssertEqual(t.description, "admin@10.0.0.5:2222")
    }

    func testBracketedIPv6WithPort() throws {
        let t = try SSHTarget.parse("[fd7e:57be:ded:1::2]:22")
        XCTAssertEqual(t, SSHTarget(user: "root", host: "fd7e:57be:ded:1::2", port: 22))
        // ssh wants the address bare (brackets make it a DNS name); nix's URL keeps the brackets.
        XCTAssertEqual(t.sshDestination, "root@fd7e:57be:ded:1::2")
        XCTAssertEqual(t.storeURI, "ssh-ng://root@[fd7e:57be:ded:1::2]")
        XCTAssertEqual(t.description, "root@[fd7e:57be:ded:1::2]:22")
    }

    func testBracketedIPv6WithoutPortAndWithUser() throws {
        XCTAssertEqual(try SSHTarget.parse("[fd00::1]"), SSHTarget(host: "fd00::1"))
        XCTAssertEqual(try SSHTarget.parse("deploy@[fd00::1]:2200"), SSHTarget(user: "deploy", host: "fd00::1", port: 2200))
    }

    func testBareIPv6IsOneHost() throws {
        XCTAssertEqual(try SSHTarget.parse("root@fd00::1"), SSHTarget(host: "fd00::1"))
    }

    func testSSHSchemeAndQueryOptions() throws {
        let t = try SSHTarget.parse("ssh://root@host.lan:2222?ProxyJump=bastion&IdentityFile=/k")
        XCTAssertEqual(t.host, "host.lan")
        XCTAssertEqual(t.port, 2222)
        XCTAssertEqual(t.options.map { "\($0.key)=\($0.value)" }, ["ProxyJump=bastion", "IdentityFile=/k"])
        XCTAssertEqual(try SSHTarget.parse(t.description), t)
    }

    func testErrorsNameTheInput() {
        let bad = ["", "root@", "@host", "host:0", "host:99999", "host:ab", "[fd00::1", "[fd00::1]x",
                   "[host]:22", "-oProxyCommand=x", "ho st", "user name@host", "host?novalue", "a;b@host"]
        for input in bad {
            XCTAssertThrowsError(try SSHTarget.parse(input), input) { e in
                guard let pe = e as? SSHTarget.ParseError else { return XCTFail("\(e)") }
                XCTAssertEqual(pe.input, input)
                XCTAssertTrue(pe.description.hasPrefix("invalid target '\(input)'"), pe.description)
            }
        }
    }
}

final class DeployShellQuoteTests: XCTestCase {
    func testSafeWordsStayBare() {
        XCTAssertEqual(ShellQuote.quote("/nix/store/abc-nixos-system/bin/switch-to-configuration"),
                       "/nix/store/abc-nixos-system/bin/switch-to-configuration")
        XCTAssertEqual(ShellQuote.quote("--unit=fleet-switch-a-1"), "--unit=fleet-switch-a-1")
    }

    func testQuotesEverythingElse() {
        XCTAssertEqual(ShellQuote.quote(""), "''")
        XCTAssertEqual(ShellQuote.quote("a b"), "'a b'")
        XCTAssertEqual(ShellQuote.quote("it's"), "'it'\\''s'")
        XCTAssertEqual(ShellQuote.quote("$(rm -rf /)"), "'$(rm -rf /)'")
        XCTAssertEqual(ShellQuote.join(["echo", "a b", "*"]), "echo 'a b' '*'")
    }

    /// The real shell reads back exactly the words we quoted.
    func testRoundTripThroughRealShell() async throws {
        let words = ["plain", "with space", "it's", "\"dq\"", "$HOME", "`id`", "a\nb", "*", "", "tab\there", "ünïcödé", "\\", "!x", "; ls"]
        let script = "for w in " + words.map(ShellQuote.quote).joined(separator: " ") + "; do printf '%s\\0' \"$w\"; done"
        let r = try await ProcessRunner().run(ProcessSpec(argv: ["/bin/sh", "-c", script]))
        XCTAssertEqual(r.status, 0, r.stderrString)
        let back = r.stdout.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(back, words)
    }
}
