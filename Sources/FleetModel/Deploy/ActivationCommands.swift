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
/// per class so each is tested against exactly what clan / nixos-rebuild / darwin-rebuild run.
public enum ActivationCommands {
    public static let systemProfile = "/nix/var/nix/profiles/system"

    /// NixOS (clan `_update_nixos`, §3.1 step 6): refuse what is not a NixOS toplevel, set the
    /// profile, then `switch-to-configuration switch` — through `systemd-run` when the host runs
    /// systemd (so the switch survives the ssh session being cut, as nixos-rebuild does), directly
    /// otherwise. `unitName` must be unique per run (clan: `clan-switch-<m>-<rand8>`).
    public static func nixos(system path: String, hasSystemd: Bool, unitName: String, action: String = "switch") -> [[String]] {
        [["test", "-e", path + "/nixos-version"],
         ["nix-env", "-p", systemProfile, "--set", path],
         switchArgv(path + "/bin/switch-to-configuration", action: action, hasSystemd: hasSystemd, unitName: unitName)]
    }

    /// nix-darwin (what `darwin-rebuild switch` does after building, as root): set the profile, then
    /// run the system's `activate`. No systemd on macOS.
    public static func darwin(system path: String) -> [[String]] {
        [["test", "-x", path + "/activate"],
         ["nix-env", "-p", systemProfile, "--set", path],
         [path + "/activate"]]
    }

    public static func activation(for machineClass: Machine.Class, system path: String, hasSystemd: Bool,
                                  unitName: String) -> [[String]] {
        switch machineClass {
        case .nixos: return nixos(system: path, hasSystemd: hasSystemd, unitName: unitName)
        case .darwin: return darwin(system: path)
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
    /// --unit=… -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER=0 -- <stc> <action>`.
    public static func switchArgv(_ stc: String, action: String, hasSystemd: Bool, unitName: String) -> [String] {
        guard hasSystemd else { return [stc, action] }
        return ["systemd-run", "--pipe", "--wait", "--quiet", "--collect", "--no-ask-password",
                "--service-type=exec", "--unit=\(unitName)", "-E", "LOCALE_ARCHIVE",
                "-E", "NIXOS_INSTALL_BOOTLOADER=0", "--", stc, action]
    }

    /// `fleet-switch-<machine>-<8 hex>`; systemd unit names allow `[A-Za-z0-9:_.\-]`.
    public static func unitName(machine: String, random: String) -> String {
        let safe = String(machine.map { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) ? $0 : "_" })
        return "fleet-switch-\(safe)-\(random)"
    }

    public static let readCurrentSystem: [String] = ["readlink", "/run/current-system"]
    public static let readProfile: [String] = ["readlink", systemProfile]
}
