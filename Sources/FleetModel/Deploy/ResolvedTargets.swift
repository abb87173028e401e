/// Each machine's target as the deploy's resolve stage starts from it: the first of
/// `DeployOptions.targets(for:)` (`--target`, inventory deploy.targetHost, the exported networks,
/// the machine config's `clan.core.networking.targetHost`; clan's `get_best_remote` order),
/// unprobed — a network address the deploy finds unreachable falls through to the next candidate
/// there, not here. The one table behind the Fleet screen's TARGET column, the detail pane, the
/// Network screen and the status probes (`StatusProber.retarget`), so what is shown, what is probed
/// and what the deploy tries first agree; resolved off the UI thread from the flake's evaluated
/// `ClanDeployConfig` (cached, then fresh) or the `--target` overrides. Compared by identity (the UI
/// state is compared after every event; this may hold 10k entries).
public struct ResolvedTargets: Equatable, Sendable {
    private final class Identity: Sendable {}
    private let identity = Identity()
    /// machine → its target; a machine listed in `machines` but absent here has none (clan errors).
    let targets: [String: DeployTarget]
    public let machines: Set<String>

    public init(targets: [String: DeployTarget], machines: Set<String>) {
        self.targets = targets
        self.machines = machines
    }

    /// What the deploy would try first for `machine` (`.some(nil)`: no way to reach it); nil when
    /// this table does not cover the machine (added since, or not resolved here), so the caller falls
    /// back to the inventory's own resolution.
    public func target(of machine: String) -> DeployTarget?? {
        machines.contains(machine) ? .some(targets[machine]) : nil
    }

    /// `machines`' first candidates under `options` (O(machines)).
    public static func resolve(_ machines: [Machine], options: DeployOptions) -> ResolvedTargets {
        var out: [String: DeployTarget] = [:]
        for m in machines { if let t = options.targets(for: m).first { out[m.name] = t } }
        return ResolvedTargets(targets: out, machines: Set(machines.map(\.name)))
    }

    public static func == (a: ResolvedTargets, b: ResolvedTargets) -> Bool { a.identity === b.identity }
}
