/// Everything the screens need about the fleet, computed once per loaded inventory:
/// role membership, per-machine services with settings, deploy targets, zerotier networks.
public struct ResolvedFleet: Sendable {
    public let inventory: Inventory
    public let resolution: InventoryResolution
    public let zerotier: [ZerotierNetwork]
    /// machine → deploy target (the first of clan's candidates; absent where clan has none).
    public let targets: [String: DeployTarget]
    /// The vars directory the targets were read from (network addresses).
    public let vars: VarsDirectory?
    /// machine → overlay IP (first zerotier network that has one).
    public let overlayIPs: [String: String]

    /// `vars` defaults to the `vars/` next to the inventory (`Inventory.clanDirectory`).
    public init(_ inventory: Inventory, vars: VarsDirectory? = nil) {
        let vars = vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) }
        self.inventory = inventory
        let resolution = InventoryResolution(inventory)
        self.resolution = resolution
        let zt = ZerotierView.networks(resolution, vars: vars)
        self.zerotier = zt
        var ips: [String: String] = [:]
        for net in zt { for m in net.members { if let ip = m.ip, ips[m.machine] == nil { ips[m.machine] = ip } } }
        self.overlayIPs = ips
        var targets: [String: DeployTarget] = [:]
        for m in inventory.machines.values {
            targets[m.name] = DeployTargetResolver.target(of: m, resolution: resolution, vars: vars)
        }
        self.vars = vars
        self.targets = targets
    }

    public func roles(of machine: String) -> [String] { resolution.roles(of: machine) }
    public func services(of machine: String) -> [RoleAssignment] { resolution.assignments(of: machine) }
    public func target(of machine: String) -> DeployTarget? { targets[machine] }

    /// Every way to reach the machine in clan's order (`DeployTargetResolver.candidates`); `config`
    /// is the flake's evaluated machine config and exports.
    public func targetCandidates(of machine: Machine, config: ClanDeployConfig?) -> [DeployTarget] {
        DeployTargetResolver.candidates(of: machine, resolution: resolution, vars: vars, config: config)
    }
    public func overlayIP(of machine: String) -> String? { overlayIPs[machine] }

    /// Services screen matrix: rows = machines (inventory order), columns = every instance/role.
    public var roleColumns: [RoleRef] { Array(resolution.roleMembers.keys) }
    public func holds(_ machine: String, _ role: RoleRef) -> Bool { resolution.holds(machine, role) }
}
