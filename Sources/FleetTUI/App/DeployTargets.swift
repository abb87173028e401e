import FleetModel

extension AppState {
    /// The TARGET column, detail pane and Network screen: what the deploy will try first
    /// (`ResolvedTargets`, the table the status probes use too) when resolved, else the inventory's
    /// own resolution (`ResolvedFleet.targets`, which is the deploy's first candidate for a
    /// directory source without `--target` overrides).
    func deployTarget(of machine: String) -> DeployTarget? {
        if let resolved = configTargets?.target(of: machine) { return resolved }
        return fleet?.target(of: machine)
    }
}
