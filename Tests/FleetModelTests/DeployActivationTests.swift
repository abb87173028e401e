import XCTest
@testable import FleetModel

/// The activation argv per machine class, against what clan / nixos-rebuild / darwin-rebuild run.
final class DeployActivationTests: XCTestCase {
    let sys = "/nix/store/0w5z-nixos-system-tb1-testbed-1"

    func testNixOSWithSystemdUsesSystemdRunLikeClan() {
        let steps = ActivationCommands.nixos(system: sys, hasSystemd: true, unitName: "fleet-switch-tb1-0a1b2c3d")
        XCTAssertEqual(steps, [
            ["test", "-e", sys + "/nixos-version"],
            ["nix-env", "-p", "/nix/var/nix/profiles/system", "--set", sys],
            ["systemd-run", "--pipe", "--wait", "--quiet", "--collect", "--no-ask-password", "--service-type=exec",
             "--unit=fleet-switch-tb1-0a1b2c3d", "-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER=0", "--",
             sys + "/bin/switch-to-configuration", "switch"],
        ])
    }

    func testNixOSWithoutSystemdSwitchesDirectly() {
        let steps = ActivationCommands.activation(for: .nixos, system: sys, hasSystemd: false, unitName: "u")
        XCTAssertEqual(steps.last, [sys + "/bin/switch-to-configuration", "switch"])
        XCTAssertEqual(steps.count, 3)
    }

    func testDarwinSetsProfileAndRunsActivate() {
        let d = "/nix/store/abcd-darwin-system-25.05"
        XCTAssertEqual(ActivationCommands.activation(for: .darwin, system: d, hasSystemd: true, unitName: "u"), [
            ["test", "-x", d + "/activate"],
            ["nix-env", "-p", "/nix/var/nix/profiles/system", "--set", d],
            [d + "/activate"],
        ])
    }

    func testRollback() {
        XCTAssertEqual(ActivationCommands.rollback(for: .nixos, hasSystemd: false, unitName: "u"), [
            ["nix-env", "-p", "/nix/var/nix/profiles/system", "--rollback"],
            ["/nix/var/nix/profiles/system/bin/switch-to-configuration", "switch"],
        ])
        XCTAssertEqual(ActivationCommands.rollback(for: .darwin, hasSystemd: false, unitName: "u").last,
                       ["/nix/var/nix/profiles/system/activate"])
    }

    func testUnitNameIsSafe() {
        XCTAssertEqual(ActivationCommands.unitName(machine: "web 1/é", random: "0a1b2c3d"), "fleet-switch-web_1__-0a1b2c3d")
        XCTAssertEqual(ActivationCommands.unitName(machine: "tb1", random: "ff"), "fleet-switch-tb1-ff")
    }

    func testRemoteFactsParse() {
        let out = "systemd=0\nkernel=Linux\ncurrent=/nix/store/a-sys\nprofile=system-3-link\nsystem=/nix/store/a-sys\n"
        let f = RemoteFacts.parse(out)
        XCTAssertEqual(f, RemoteFacts(hasSystemd: false, kernel: "Linux", currentSystem: "/nix/store/a-sys",
                                      profileLink: "system-3-link", profileSystem: "/nix/store/a-sys"))
        XCTAssertEqual(f?.generation, 3)
        let fresh = RemoteFacts.parse("systemd=1\nkernel=Linux\ncurrent=\nprofile=\nsystem=/nix/var/nix/profiles/system\n")
        XCTAssertEqual(fresh?.currentSystem, nil)
        XCTAssertEqual(fresh?.profileSystem, nil, "readlink -f of a missing profile is not a system")
        XCTAssertEqual(fresh?.hasSystemd, true)
        XCTAssertNil(RemoteFacts.parse("Welcome to the host\n"))
    }

    /// The probe is valid sh and prints what `parse` reads, on this machine.
    func testProbeRunsInRealShell() async throws {
        let r = try await ProcessRunner().run(ProcessSpec(argv: RemoteFacts.probeArgv))
        XCTAssertEqual(r.status, 0, r.stderrString)
        XCTAssertEqual(RemoteFacts.parse(r.stdoutString)?.kernel, "Linux")
    }
}

final class DeployBuildArgvTests: XCTestCase {
    func testFlakeBuildIsClansCommandLineForNix28() {
        let argv = SystemBuilder.flake("path:/f").buildArgv(machine: "tb1", machineClass: .nixos)
        XCTAssertEqual(argv, ["nix", "--extra-experimental-features", "nix-command flakes", "--option", "warn-dirty", "false",
                              "build", "--flake-registry", "", "--no-link", "--json", "--log-format", "internal-json", "-v",
                              #"path:/f#nixosConfigurations."tb1".config.system.build.toplevel"#])
        XCTAssertTrue(SystemBuilder.flake("/f").buildArgv(machine: "mac", machineClass: .darwin).last!
            .hasPrefix(#"/f#darwinConfigurations."mac""#))
    }

    func testOutPathFromBuildOutput() {
        XCTAssertEqual(SystemBuilder.outPath(fromBuildOutput: #"[{"drvPath":"/nix/store/a.drv","outputs":{"out":"/nix/store/b-sys"}}]"#),
                       "/nix/store/b-sys")
        XCTAssertEqual(SystemBuilder.outPath(fromBuildOutput: "/nix/store/c-sys\n"), "/nix/store/c-sys")
        XCTAssertNil(SystemBuilder.outPath(fromBuildOutput: "nothing"))
        XCTAssertEqual(SystemBuilder.outPath(fromEvalOutput: "\"/nix/store/d\"\n"), "/nix/store/d")
    }

    func testBatchEvaluatesAllMachinesOnce() {
        let argv = BuildBatch.evalArgv(flake: "path:/f", machines: ["tb1", "we\"ird${x}"])
        XCTAssertTrue(argv.contains("path:/f#nixosConfigurations"))
        XCTAssertTrue(argv.last!.contains(#"[ "tb1" "we\"ird\${x}" ]"#), argv.last!)
        let build = BuildBatch.buildArgv(flake: "path:/f", machines: ["a", "b"])
        XCTAssertTrue(build.contains("--keep-going"))
        XCTAssertEqual(build.suffix(2).map { $0 }, [#"path:/f#nixosConfigurations."a".config.system.build.toplevel"#,
                                                     #"path:/f#nixosConfigurations."b".config.system.build.toplevel"#])
    }
}
