import Foundation

/// What fleet learns about a host when it connects (one remote command, run through the new master).
public struct RemoteFacts: Equatable, Sendable {
    /// `sd_booted()`: `/run/systemd/system` exists. Only then can `systemd-run` be used.
    public var hasSystemd: Bool
    /// `uname -s`: `Linux`, `Darwin`.
    public var kernel: String
    /// `readlink /run/current-system`, nil when there is none.
    public var currentSystem: String?
    /// `readlink /nix/var/nix/profiles/system` (`system-7-link`), nil when there is none.
    public var profileLink: String?
    /// `readlink -f /nix/var/nix/profiles/system`: the store path the profile points to.
    public var profileSystem: String?
    /// Every system generation still on the host (`system-N-link`), ascending.
    public var generations: [Int]

    public init(hasSystemd: Bool, kernel: String, currentSystem: String?, profileLink: String?, profileSystem: String? = nil,
                generations: [Int] = []) {
        self.hasSystemd = hasSystemd
        self.kernel = kernel
        self.currentSystem = currentSystem
        self.profileLink = profileLink
        self.profileSystem = profileSystem
        self.generations = generations
    }

    /// The generation `nix-env --rollback` switches to: the newest one below the current.
    public var previousGeneration: Int? {
        guard let g = generation else { return nil }
        return generations.filter { $0 < g }.max()
    }

    public var generation: Int? { Self.generation(ofProfileLink: profileLink) }

    /// The remote argv that prints the facts, one `key=value` line each.
    public static let probeArgv: [String] = ["sh", "-c", """
        echo "systemd=$(test -d /run/systemd/system && echo 1 || echo 0)"; \
        echo "kernel=$(uname -s)"; \
        echo "current=$(readlink /run/current-system 2>/dev/null)"; \
        echo "profile=$(readlink \(ActivationCommands.systemProfile) 2>/dev/null)"; \
        echo "system=$(readlink -f \(ActivationCommands.systemProfile) 2>/dev/null)"; \
        echo "generations=$(cd /nix/var/nix/profiles 2>/dev/null && ls -d system-*-link 2>/dev/null | tr '\\n' ' ')"
        """]

    /// Parses the probe's output; nil when it does not look like the probe ran.
    public static func parse(_ output: String) -> RemoteFacts? {
        var kv: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            kv[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let sd = kv["systemd"], let kernel = kv["kernel"] else { return nil }
        func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }
        return RemoteFacts(hasSystemd: sd == "1", kernel: kernel, currentSystem: nonEmpty(kv["current"]),
                           profileLink: nonEmpty(kv["profile"]), profileSystem: nonEmpty(kv["system"]).flatMap { $0.hasPrefix("/nix/store/") ? $0 : nil },
                           generations: (kv["generations"] ?? "").split(separator: " ").compactMap { generation(ofProfileLink: String($0)) }.sorted())
    }

    /// `system-7-link` → 7.
    public static func generation(ofProfileLink link: String?) -> Int? {
        guard let link else { return nil }
        let name = link.split(separator: "/").last.map(String.init) ?? link
        guard name.hasPrefix("system-"), name.hasSuffix("-link") else { return nil }
        return Int(name.dropFirst(7).dropLast(5))
    }
}

/// The remote argvs that set the system profile and activate it, per machine class. One function
/// per class so each is tested against exactly what clan / darwin-rebuild run.
public enum ActivationCommands {
    public static let systemProfile = "/nix/var/nix/profiles/system"

    /// NixOS, before the switch (clan `_nixos_activate`, clan_lib/machines/update.py:376-420): refuse
    /// what is not a NixOS toplevel, then set the profile.
    public static func nixosPrepare(system path: String) -> [[String]] {
        [["test", "-e", path + "/nixos-version"],
         ["nix-env", "-p", systemProfile, "--set", path]]
    }

    /// `switch-to-configuration ACTION` of the system (or of a specialisation), through `systemd-run`
    /// when the host runs systemd (the switch survives the ssh session being cut), directly
    /// otherwise. clan runs `boot` first (registers the generation in the bootloader, never blocked
    /// by inhibitors), then `switch` (update.py:458-552).
    public static func nixosSwitch(system path: String, action: String, hasSystemd: Bool, unitName: String,
                                   noCheck: Bool = false, specialisation: String? = nil) -> [String] {
        let base = specialisation.map { path + "/specialisation/" + $0 } ?? path
        return switchArgv(base + "/bin/switch-to-configuration", action: action, hasSystemd: hasSystemd, unitName: unitName,
                          noCheck: noCheck)
    }

    /// The whole NixOS activation in order (for dry runs and tests): prepare, boot, switch.
    public static func nixos(system path: String, hasSystemd: Bool, unitSuffix: String, machine: String, noCheck: Bool = false,
                             specialisation: String? = nil) -> [[String]] {
        nixosPrepare(system: path)
            + ["boot", "switch"].map { nixosSwitch(system: path, action: $0, hasSystemd: hasSystemd,
                                                   unitName: unitName(action: $0, machine: machine, random: unitSuffix), noCheck: noCheck,
                                                   specialisation: specialisation) }
    }

    /// clan's answer to a failed live switch (update.py:524-534): inhibitors blocked it.
    public static func blockedByInhibitors(_ output: String) -> Bool {
        output.contains("Pre-switch check") || output.contains("switchInhibitors")
    }

    /// nix-darwin (clan `_build_darwin_rebuild_cmd`, update.py:695-715): darwin-rebuild builds and
    /// activates on the host it runs on; the flake is the uploaded source's store path.
    public static func darwinRebuild(machine: String, flakeStorePath: String, nixOptions: [String]) -> [String] {
        ["/run/current-system/sw/bin/darwin-rebuild", "switch"] + nixOptions + ["--flake", "\(flakeStorePath)#\(machine)"]
    }

    /// How a machine class activates, in words (Deploy screen, dry runs).
    public static func plan(for machineClass: Machine.Class) -> String {
        switch machineClass {
        case .nixos: return "nix-env --set, switch-to-configuration boot, then switch"
        case .darwin: return "darwin-rebuild switch on the target"
        }
    }

    /// Back to the previous generation (`nixos-rebuild --rollback`): move the profile back, then
    /// activate what it now points to.
    public static func rollback(for machineClass: Machine.Class, hasSystemd: Bool, unitName: String) -> [[String]] {
        let setBack = ["nix-env", "-p", systemProfile, "--rollback"]
        switch machineClass {
        case .nixos:
            return [setBack, switchArgv(systemProfile + "/bin/switch-to-configuration", action: "switch",
                                        hasSystemd: hasSystemd, unitName: unitName)]
        case .darwin:
            return [setBack, [systemProfile + "/activate"]]
        }
    }

    /// clan's `systemd-run --pipe --wait --quiet --collect --no-ask-password --service-type=exec
    /// --unit=… -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER=0 [-E NIXOS_NO_CHECK=1] -- <stc> <action>`.
    public static func switchArgv(_ stc: String, action: String, hasSystemd: Bool, unitName: String, noCheck: Bool = false) -> [String] {
        guard hasSystemd else { return (noCheck ? ["env", "NIXOS_NO_CHECK=1"] : []) + [stc, action] }
        return ["systemd-run", "--pipe", "--wait", "--quiet", "--collect", "--no-ask-password",
                "--service-type=exec", "--unit=\(unitName)", "-E", "LOCALE_ARCHIVE",
                "-E", "NIXOS_INSTALL_BOOTLOADER=0"] + (noCheck ? ["-E", "NIXOS_NO_CHECK=1"] : []) + ["--", stc, action]
    }

    /// `fleet-<action>-<machine>-<8 hex>` (clan: `clan-<action>-<m>-<uuid8>`); systemd unit names
    /// allow `[A-Za-z0-9:_.\-]`.
    public static func unitName(action: String = "switch", machine: String, random: String) -> String {
        let safe = String(machine.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        return "fleet-\(action)-\(safe)-\(random)"
    }

    public static let readCurrentSystem: [String] = ["readlink", "/run/current-system"]
}
