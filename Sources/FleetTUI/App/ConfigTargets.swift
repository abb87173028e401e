import FleetModel

/// For a flake source: the target each machine's deploy will start from, resolved the way the
/// deploy resolves it (`DeployOptions.targets(for:)`: `--target`, inventory deploy.targetHost, the
/// exported networks, the machine config's `clan.core.networking.targetHost`) from the flake's
/// evaluated `ClanDeployConfig` — cached, then re-evaluated in the background
/// (`DeployEffects.resolveConfigTargets`). The first candidate, unprobed: a network address the
/// deploy would find unreachable falls through to the next one there, not here. Compared by identity
/// (the state is compared after every event; this may hold 10k entries).
public struct ConfigTargets: Equatable, Sendable {
    private final class Identity: Sendable {}
    private let identity = Identity()
    /// machine → its target; a machine listed in `machines` but absent here has none (clan errors).
    let targets: [String: DeployTarget]
    let machines: Set<String>

    init(targets: [String: DeployTarget], machines: Set<String>) {
        self.targets = targets
        self.machines = machines
    }

    /// What the deploy would use for `machine` (`.some(nil)`: no way to reach it); nil when this
    /// resolution does not cover the machine (added since), so the caller falls back to the inventory's.
    func target(of machine: String) -> DeployTarget?? {
        machines.contains(machine) ? .some(targets[machine]) : nil
    }

    /// Resolved from the deploy's own options (off the UI thread: O(machines)).
    static func resolve(_ machines: [Machine], options: DeployOptions) -> ConfigTargets {
        var out: [String: DeployTarget] = [:]
        for m in machines { if let t = options.targets(for: m).first { out[m.name] = t } }
        return ConfigTargets(targets: out, machines: Set(machines.map(\.name)))
    }

    public static func == (a: ConfigTargets, b: ConfigTargets) -> Bool { a.identity === b.identity }
}

extension AppState {
    /// The TARGET column, detail pane and Network screen: what the deploy will use (`ConfigTargets`,
    /// flake sources) when resolved, else the inventory's own resolution (`ResolvedFleet.targets`).
    func deployTarget(of machine: String) -> DeployTarget? {
        if let resolved = configTargets?.target(of: machine) { return resolved }
        return fleet?.target(of: machine)
    }
}
