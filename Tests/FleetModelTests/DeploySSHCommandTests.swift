import XCTest
@testable import FleetModel

final class DeploySSHCommandTests: XCTestCase {
    let settings = SSHSettings(controlDirectory: "/tmp/fleet-ssh-abc")

    func testStrictDefaultWithControlMaster() throws {
        let t = try SSHTarget.parse("root@10.0.0.2")
        let argv = SSHCommand.argv(t, settings, remote: ["readlink", "/run/current-system"])
        XCTAssertEqual(argv, ["ssh", "-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/fleet-ssh-abc/%C",
                              "-o", "ControlPersist=60", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                              "-o", "ConnectTimeout=10", "-T", "--", "root@10.0.0.2", "readlink /run/current-system"])
        XCTAssertFalse(argv.contains("-F"), "~/.ssh/config is respected by default (no -F)")
    }

    func testAcceptNewConfigFilePortAndTargetOptions() throws {
        var s = settings
        s.hostKeyPolicy = .acceptNew
        s.configFile = "/tmp/tb/ssh_config"
        let t = try SSHTarget.parse("deploy@[fd00::1]:2222?ProxyJump=gw")
        let argv = SSHCommand.argv(t, s, remote: ["echo", "a b"])
        XCTAssertEqual(Array(argv[1...2]), ["-F", "/tmp/tb/ssh_config"])
        XCTAssertTrue(argv.contains("StrictHostKeyChecking=accept-new"))
        XCTAssertTrue(argv.contains("ProxyJump=gw"))
        let p = try XCTUnwrap(argv.firstIndex(of: "-p"))
        XCTAssertEqual(argv[p + 1], "2222")
        XCTAssertEqual(Array(argv.suffix(3)), ["--", "deploy@fd00::1", "echo 'a b'"])
    }

    func testHostKeyPoliciesAsClan() throws {
        // clan_lib/ssh/host_key.py: only `none` turns checking off; `ask` runs strict here because
        // fleet asks itself (HostKeyCheck) instead of ssh's terminal prompt.
        for policy in HostKeyPolicy.allCases where policy != .none {
            var s = settings
            s.hostKeyPolicy = policy
            let argv = SSHCommand.argv(try SSHTarget.parse("h"), s, remote: ["true"])
            XCTAssertFalse(argv.contains("StrictHostKeyChecking=no"), "\(policy)")
            XCTAssertFalse(argv.contains { $0.contains("UserKnownHostsFile=/dev/null") })
            XCTAssertTrue(argv.contains("BatchMode=yes"), "a prompt from ssh would hang the deploy")
        }
        XCTAssertEqual(HostKeyPolicy.ask.sshOptions, ["-o", "StrictHostKeyChecking=yes"])
        XCTAssertEqual(HostKeyPolicy.tofu.sshOptions, ["-o", "StrictHostKeyChecking=accept-new"])
        XCTAssertEqual(HostKeyPolicy.none.sshOptions, ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
        XCTAssertEqual(HostKeyPolicy.names, "strict|ask|accept-new|tofu|none")
        XCTAssertEqual(DeployOptions(builder: .flake("x")).hostKeyPolicy, .ask, "clan's default")
    }

    func testForwardAgentFromInventoryElseMachineConfig() throws {
        var o = DeployOptions(builder: .flake("x"))
        var m = Machine(name: "a")
        XCTAssertFalse(o.forwardAgent(for: m))
        o.configForwardAgent = ["a": true]
        XCTAssertTrue(o.forwardAgent(for: m), "clan.core.networking.forwardAgent")
        m.deploy.forwardAgent = false
        XCTAssertFalse(o.forwardAgent(for: m), "the inventory wins when set")
        var s = settings
        s.forwardAgent = true
        let argv = SSHCommand.argv(try SSHTarget.parse("h"), s, remote: ["true"])
        XCTAssertTrue(argv.contains("-A"))
        XCTAssertTrue(try SSHCommand.nixSSHOpts(try SSHTarget.parse("h"), s).hasPrefix("-A "), "nix copy's ssh forwards too")
        XCTAssertFalse(SSHCommand.argv(try SSHTarget.parse("h"), settings, remote: ["true"]).contains("-A"))
    }

    func testNixSSHOptsReuseTheSameControlPath() throws {
        let t = try SSHTarget.parse("root@10.0.0.2:2200")
        let opts = try SSHCommand.nixSSHOpts(t, settings)
        XCTAssertTrue(opts.contains("-o ControlPath=/tmp/fleet-ssh-abc/%C"))
        XCTAssertTrue(opts.hasSuffix("-p 2200"), "the port goes to ssh, not into the ssh-ng URL")
        XCTAssertEqual(t.storeURI, "ssh-ng://root@10.0.0.2")
        var s = settings
        s.configFile = "/tmp/with space/ssh_config"
        XCTAssertThrowsError(try SSHCommand.nixSSHOpts(t, s))
    }

    /// The ssh a build host runs to copy to the target gets no local paths (our -F config file, our
    /// control sockets): clan's `nix_ssh_env(control_master=False)` carries only the port, `-o`
    /// options, host-key policy and agent forwarding; the build host's own ~/.ssh/config applies.
    func testBuildHostCopyOptionsCarryNoLocalPaths() throws {
        var s = settings
        s.configFile = "/tmp/tb/ssh_config"
        s.forwardAgent = true
        s.hostKeyPolicy = .acceptNew
        let t = try SSHTarget.parse("deploy@10.0.0.3:2222?ProxyJump=gw")
        let opts = try SSHCommand.nixSSHOpts(t, s, master: false)
        XCTAssertFalse(opts.contains("/tmp/tb/ssh_config"), opts)
        XCTAssertFalse(opts.contains("-F"), opts)
        XCTAssertFalse(opts.contains("/tmp/fleet-ssh-abc"), opts)
        XCTAssertTrue(opts.contains("-o ControlPath=none"), opts)
        for part in ["-A", "-p 2222", "-o ProxyJump=gw", "-o StrictHostKeyChecking=accept-new"] {
            XCTAssertTrue(opts.contains(part), "\(part) missing from \(opts)")
        }
        // Here (master: true) the same settings still use the config file.
        XCTAssertTrue(try SSHCommand.nixSSHOpts(t, s).hasPrefix("-F /tmp/tb/ssh_config"))
    }

    func testCloseArgv() throws {
        let argv = SSHCommand.closeArgv(try SSHTarget.parse("root@h"), settings)
        XCTAssertEqual(Array(argv.suffix(4)), ["-O", "exit", "--", "root@h"])
        XCTAssertTrue(argv.contains("ControlPath=/tmp/fleet-ssh-abc/%C"))
    }

    func testSSHErrorSummaries() {
        let changed = """
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r
            @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r
            IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r
            Host key for tb2 has changed and you have requested strict checking.\r
            Host key verification failed.\r

            """
        XCTAssertEqual(ErrorText.ssh(changed), "host key mismatch (REMOTE HOST IDENTIFICATION HAS CHANGED): Host key verification failed.")
        XCTAssertEqual(ErrorText.ssh("ssh: connect to host 10.231.0.2 port 22: No route to host\n"),
                       "ssh: connect to host 10.231.0.2 port 22: No route to host")
        XCTAssertEqual(ErrorText.command(["systemd-run", "--pipe", "--", "/nix/store/x/bin/switch-to-configuration", "switch"],
                                         status: 1, stderr: "activating...\nboom\n"),
                       "switch-to-configuration switch exited 1: boom")
    }

    /// The status probe's kex preference falls back when the real ssh refuses the option (as an
    /// OpenSSH before 8.7 refuses `^`), and only then: a host that does not answer is not a refusal.
    func testProbeKexFallbackOnlyWhenSSHRefusesTheOption() async throws {
        let refused = try await ProcessRunner().run(ProcessSpec(argv: ["ssh", "-F", "/dev/null", "-o", "KexAlgorithms=^no-such-kex",
                                                                       "-o", "BatchMode=yes", "root@127.0.0.1", "true"],
                                                                timeout: .seconds(20)))
        XCTAssertTrue(StatusProber.kexRefused(refused), refused.stderrString)
        let down = try await ProcessRunner().run(ProcessSpec(argv: ["ssh", "-F", "/dev/null", "-o", StatusProber.probeKex, "-o", "BatchMode=yes",
                                                                    "-o", "ConnectTimeout=2", "-p", "1", "root@127.0.0.1", "true"],
                                                             timeout: .seconds(20)))
        XCTAssertEqual(down.status, 255)
        XCTAssertFalse(StatusProber.kexRefused(down), down.stderrString)
    }
}
