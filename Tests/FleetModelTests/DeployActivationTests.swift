import XCTest
@testable import FleetModel

/// The activation argv per machine class, against what clan / nixos-rebuild / darwin-rebuild run.
final class DeployActivationTests: XCTestCase {
    let sys = "/nix/store/0w5z-nixos-system-tb1-testbed-1"

    /// clan `_nixos_activate` (clan_lib/machines/update.py:376-552): test -e, nix-env --set,
    /// switch-to-configuration boot, then switch, each through systemd-run.
    func testNixOSWithSystemdUsesBootThenSwitchLikeClan() {
        let steps = ActivationCommands.nixos(system: sys, hasSystemd: true, unitSuffix: "0a1b2c3d", machine: "tb1")
        func run(_ action: String) -> [String] {
            ["systemd-run", "--pipe", "--wait", "--quiet", "--collect", "--no-ask-password", "--service-type=exec",
             "--unit=fleet-\(action)-tb1-0a1b2c3d", "-E", "LOCALE_ARCHIVE", "-E", "NIXOS_INSTALL_BOOTLOADER=0", "--",
             sys + "/bin/switch-to-configuration", action]
        }
        XCTAssertEqual(steps, [
            ["test", "-e", sys + "/nixos-version"],
            ["nix-env", "-p", "/nix/var/nix/profiles/system", "--set", sys],
            run("boot"),
            run("switch"),
        ])
    }

    func testNoCheckPassesNixosNoCheck() {
        let argv = ActivationCommands.nixosSwitch(system: sys, action: "switch", hasSystemd: true, unitName: "u", noCheck: true)
        XCTAssertEqual(Array(argv.suffix(5)), ["-E", "NIXOS_NO_CHECK=1", "--", sys + "/bin/switch-to-configuration", "switch"])
        XCTAssertEqual(ActivationCommands.nixosSwitch(system: sys, action: "boot", hasSystemd: false, unitName: "u", noCheck: true),
                       ["env", "NIXOS_NO_CHECK=1", sys + "/bin/switch-to-configuration", "boot"])
        XCTAssertEqual(ActivationCommands.nixosSwitch(system: sys, action: "switch", hasSystemd: false, unitName: "u", specialisation: "gpu"),
                       [sys + "/specialisation/gpu/bin/switch-to-configuration", "switch"])
    }

    /// clan's `--specialisation S` (update.py:429-433): boot and switch both run the
    /// specialisation's switch-to-configuration; the profile is the whole system.
    func testSpecialisationSwitchesToItInBothSteps() {
        let steps = ActivationCommands.nixos(system: sys, hasSystemd: false, unitSuffix: "u", machine: "tb1", specialisation: "gpu")
        XCTAssertEqual(steps[1], ["nix-env", "-p", "/nix/var/nix/profiles/system", "--set", sys])
        XCTAssertEqual(steps[2], [sys + "/specialisation/gpu/bin/switch-to-configuration", "boot"])
        XCTAssertEqual(steps[3], [sys + "/specialisation/gpu/bin/switch-to-configuration", "switch"])
    }

    /// clan refuses `--specialisation` for a darwin machine: "--specialisation is not supported for
    /// darwin machine <m>" (clan_cli/machines/update.py). The host fails at resolve; nothing runs.
    func testSpecialisationIsRefusedForDarwin() async {
        var o = DeployOptions(builder: .flake("path:/nonexistent"))
        o.specialisation = "gpu"
        o.targetOverrides = ["mac": "root@127.0.0.1:1"]
        o.batchBuild = false
        let run = DeployPipeline().start([Machine(name: "mac", machineClass: .darwin)], options: o)
        for await _ in run.events {}
        let f = await run.result().hosts.first?.failure
        XCTAssertEqual(f?.stage, .resolve)
        XCTAssertEqual(f?.message, "--specialisation is not supported for darwin machine mac")
    }

    func testNixOSWithoutSystemdSwitchesDirectly() {
        let steps = ActivationCommands.nixos(system: sys, hasSystemd: false, unitSuffix: "u", machine: "tb1")
        XCTAssertEqual(steps.suffix(2).map { $0 }, [[sys + "/bin/switch-to-configuration", "boot"],
                                                    [sys + "/bin/switch-to-configuration", "switch"]])
    }

    /// clan update.py:524-534 checks the switch output for these words.
    func testInhibitorDetection() {
        XCTAssertTrue(ActivationCommands.blockedByInhibitors("Pre-switch check 'switchInhibitors' failed"))
        XCTAssertTrue(ActivationCommands.blockedByInhibitors("… switchInhibitors changed: dbus"))
        XCTAssertFalse(ActivationCommands.blockedByInhibitors("activation script failed"))
    }

    /// clan `_build_darwin_rebuild_cmd` (update.py:695-715) with clan's nix options (update.py:30-42).
    func testDarwinRebuildIsClansArgv() {
        let argv = ActivationCommands.darwinRebuild(machine: "stibnite", flakeStorePath: "/nix/store/abc-source",
                                                    nixOptions: NixBuildOptions.clanDefaults + ["--option", "cores", "4"])
        XCTAssertEqual(argv, ["/run/current-system/sw/bin/darwin-rebuild", "switch",
                              "--show-trace", "--option", "keep-going", "true", "--option", "accept-flake-config", "true", "-L",
                              "--option", "cores", "4",
                              "--flake", "/nix/store/abc-source#stibnite"])
        XCTAssertEqual(HostDeployer.darwinStoreURI(SSHTarget(user: "root", host: "stibnite.zt")),
                       "ssh-ng://root@stibnite.zt?remote-program=bash -lc 'exec nix-daemon --stdio'")
    }

    /// Every darwin machine of the demo fleet: exactly clan's argv, built by what the deploy runs.
    func testDemoDarwinMachinesGetClansDarwinRebuildArgv() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let inv = try DirectoryInventoryLoader(directory: repo.appendingPathComponent("inventory").path).load()
        let darwin = inv.machineList.filter { $0.machineClass == .darwin }.map(\.name)
        XCTAssertEqual(darwin.sorted(), ["argentum", "blackphos", "rosegold", "stibnite"])
        let options = DeployOptions(builder: .flake("/clan")).buildNixOptions
        for m in darwin {
            XCTAssertEqual(ActivationCommands.darwinRebuild(machine: m, flakeStorePath: "/nix/store/x-source", nixOptions: options),
                           ["/run/current-system/sw/bin/darwin-rebuild", "switch", "--show-trace", "--option", "keep-going", "true",
                            "--option", "accept-flake-config", "true", "-L", "--flake", "/nix/store/x-source#\(m)"], m)
            XCTAssertEqual(ActivationCommands.plan(for: .darwin), "darwin-rebuild switch on the target")
        }
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
        XCTAssertEqual(ActivationCommands.unitName(action: "boot", machine: "tb1", random: "ff"), "fleet-boot-tb1-ff")
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

    /// Build on the target / a build host: the .drv is evaluated here, built there with its own nix.
    func testRemoteBuildArgv() {
        XCTAssertEqual(SystemBuilder.flake("path:/f").drvPathArgv(machine: "tb1", machineClass: .nixos).last,
                       #"path:/f#nixosConfigurations."tb1".config.system.build.toplevel.drvPath"#)
        XCTAssertEqual(SystemBuilder.remoteBuildArgv(drvPath: "/nix/store/x.drv", options: NixBuildOptions.clanDefaults),
                       ["nix", "--extra-experimental-features", "nix-command flakes", "--option", "warn-dirty", "false",
                        "build", "--no-link", "--json", "--log-format", "internal-json", "-v",
                        "--show-trace", "--option", "keep-going", "true", "--option", "accept-flake-config", "true", "-L",
                        "/nix/store/x.drv"])
        XCTAssertEqual(SystemBuilder.legacyOptions(NixBuildOptions.clanDefaults + ["--option", "cores"]),
                       ["--show-trace", "--option", "keep-going", "true", "--option", "accept-flake-config", "true"])
    }

    func testBuildPlacementFollowsClansOrder() {
        var m = Machine(name: "tb1")
        let cfg = ClanDeployConfig.MachineConfig(buildHost: "root@cfgbuilder")
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: nil),
                       BuildPlacement(kind: .target, source: "default"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: cfg),
                       BuildPlacement(kind: .host("root@cfgbuilder"), source: "clan.core.networking.buildHost"))
        m.deploy.buildHost = "localhost"
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: cfg),
                       BuildPlacement(kind: .local, source: "deploy.buildHost"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: "root@cli", config: cfg),
                       BuildPlacement(kind: .host("root@cli"), source: "--build-host"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: true, buildHostOverride: "root@cli", config: cfg).kind, .local)
    }

    /// nix-darwin: darwin-rebuild builds and activates on the target whatever build host is set (clan
    /// would run `darwin-rebuild switch` on the build host — for `localhost` the machine fleet runs on —,
    /// which activates that host, not the target). The placement says so, so a dry run does not
    /// claim a local or build-host build that will not happen.
    func testDarwinAlwaysBuildsOnTheTargetAndSaysWhatItIgnores() {
        var m = Machine(name: "stibnite", machineClass: .darwin)
        let cfg = ClanDeployConfig.MachineConfig(buildHost: "root@cfgbuilder")
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: nil),
                       BuildPlacement(kind: .target, source: "darwin-rebuild"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: cfg),
                       BuildPlacement(kind: .target, source: "darwin-rebuild; clan.core.networking.buildHost root@cfgbuilder not used"))
        m.deploy.buildHost = "localhost"
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: nil, config: cfg),
                       BuildPlacement(kind: .target, source: "darwin-rebuild; deploy.buildHost localhost not used"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: false, buildHostOverride: "root@cli", config: cfg),
                       BuildPlacement(kind: .target, source: "darwin-rebuild; --build-host root@cli not used"))
        XCTAssertEqual(BuildPlacement.resolve(machine: m, buildLocal: true, buildHostOverride: nil, config: nil),
                       BuildPlacement(kind: .target, source: "darwin-rebuild; --build-local not used"))
    }

    func testOutPathFromBuildOutput() {
        XCTAssertEqual(SystemBuilder.outPath(fromBuildOutput: #"[{"drvPath":"/nix/store/a.drv","outputs":{"out":"/nix/store/b-sys"}}]"#),
                       "/nix/store/b-sys")
        XCTAssertEqual(SystemBuilder.outPath(fromBuildOutput: "/nix/store/c-sys\n"), "/nix/store/c-sys")
        XCTAssertNil(SystemBuilder.outPath(fromBuildOutput: "nothing"))
        XCTAssertEqual(SystemBuilder.outPath(fromEvalOutput: "\"/nix/store/d\"\n"), "/nix/store/d")
    }

    func testBatchEvaluatesAllMachinesOnce() {
        let argv = FlakeBatch.evalArgv(flake: "path:/f", machines: ["tb1", "we\"ird${x}"], attribute: "outPath")
        XCTAssertTrue(argv.contains("path:/f#nixosConfigurations"))
        XCTAssertTrue(argv.last!.contains(#"[ "tb1" "we\"ird\${x}" ]"#), argv.last!)
        let build = BuildBatch.buildArgv(flake: "path:/f", machines: ["a", "b"])
        XCTAssertTrue(build.contains("--keep-going"))
        XCTAssertEqual(build.suffix(2).map { $0 }, [#"path:/f#nixosConfigurations."a".config.system.build.toplevel"#,
                                                     #"path:/f#nixosConfigurations."b".config.system.build.toplevel"#])
    }
}
