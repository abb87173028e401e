/// Where a machine's system is built, and why — clan's order (clan_cli/machines/update.py:214-226,
/// clan_lib/machines/machines.py:122-135,175-211): `--build-host` (`localhost` = here), inventory
/// `deploy.buildHost`, the machine config's `clan.core.networking.buildHost`, else **the target
/// builds** (clan's default). fleet adds `--build-local`, which wins over all of them.
public struct BuildPlacement: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// On the machine fleet runs on: build, then copy the closure to the target.
        case local
        /// On the target itself, with its own nix: the derivation closure is copied there first.
        case target
        /// On another host (an ssh address): derivations go there, it builds and copies to the target.
        case host(String)
    }
    public var kind: Kind
    /// Where the choice came from: `--build-local`, `--build-host`, `deploy.buildHost`,
    /// `clan.core.networking.buildHost`, `default`, or for nix-darwin `darwin-rebuild` (with the
    /// build-host setting it did not use, if any).
    public var source: String

    public init(kind: Kind, source: String) {
        self.kind = kind
        self.source = source
    }

    /// `locally`, `on the target`, `on root@builder` — for stage messages, the Deploy screen and dry runs.
    public var label: String {
        switch kind {
        case .local: return "locally"
        case .target: return "on the target"
        case .host(let h): return "on \(h)"
        }
    }

    /// Short form for a table column: `local`, `target`, `root@builder`.
    public var column: String {
        switch kind {
        case .local: return "local"
        case .target: return "target"
        case .host(let h): return h
        }
    }

    /// clan's `localhost` means a local build (machines.py:128-132, update.py:217-218).
    static func kind(of address: String) -> Kind {
        let a = address.trimmingCharacters(in: .whitespaces)
        return a == "localhost" ? .local : .host(a)
    }

    public static func resolve(machine: Machine, buildLocal: Bool, buildHostOverride: String?,
                               config: ClanDeployConfig.MachineConfig?) -> BuildPlacement {
        if machine.machineClass == .darwin { return darwin(machine: machine, buildLocal: buildLocal, buildHostOverride: buildHostOverride, config: config) }
        if buildLocal { return BuildPlacement(kind: .local, source: "--build-local") }
        if let o = buildHostOverride, !o.isEmpty { return BuildPlacement(kind: kind(of: o), source: "--build-host") }
        if let b = machine.deploy.buildHost, !b.isEmpty { return BuildPlacement(kind: kind(of: b), source: "deploy.buildHost") }
        if let b = config?.buildHost, !b.isEmpty { return BuildPlacement(kind: kind(of: b), source: "clan.core.networking.buildHost") }
        return BuildPlacement(kind: .target, source: "default")
    }

    /// nix-darwin: `darwin-rebuild switch` builds and activates on the target, always. clan runs it
    /// on the build host (update.py `_update_darwin`), which activates *that* host (for `localhost`,
    /// the machine fleet runs on) with the target's configuration; fleet does not, and says which
    /// setting it did not use, so a dry run never claims a build that will not happen.
    private static func darwin(machine: Machine, buildLocal: Bool, buildHostOverride: String?,
                               config: ClanDeployConfig.MachineConfig?) -> BuildPlacement {
        var ignored: String?
        if buildLocal { ignored = "--build-local" }
        else if let o = buildHostOverride, !o.isEmpty { ignored = "--build-host \(o)" }
        else if let b = machine.deploy.buildHost, !b.isEmpty { ignored = "deploy.buildHost \(b)" }
        else if let b = config?.buildHost, !b.isEmpty { ignored = "clan.core.networking.buildHost \(b)" }
        return BuildPlacement(kind: .target, source: "darwin-rebuild" + (ignored.map { "; \($0) not used" } ?? ""))
    }
}
