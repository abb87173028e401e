/// Everything the screens need about the fleet, computed once per loaded inventory:
/// role membership, per-machine services with settings, deploy targets, zerotier networks.
///
/// The addresses (targets, overlay IPs, zerotier networks) are read from `vars/` — at 10k machines
/// about 8,000 file opens, most of a first frame (make bench). The dashboard therefore first takes a
/// fleet whose addresses cover only the machines of its first screen (`firstScreen`), draws it, and
/// reads the rest after the frame (`completed()`); the CLI takes the whole fleet at once (`init`).
public struct ResolvedFleet: Sendable {
    public let inventory: Inventory
    public let resolution: InventoryResolution
    /// The vars directory the targets were read from (network addresses).
    public let vars: VarsDirectory?
    public let addresses: FleetAddresses
    /// Shared by a first-screen fleet and its completion, so the dashboard can tell that a completion
    /// belongs to the inventory on screen (and not to one that replaced it meanwhile).
    private let load: LoadIdentity

    private final class LoadIdentity: Sendable {}

    /// `vars` defaults to the `vars/` next to the inventory (`Inventory.clanDirectory`).
    public init(_ inventory: Inventory, vars: VarsDirectory? = nil) {
        let vars = vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) }
        let resolution = InventoryResolution(inventory)
        self.init(inventory, resolution, vars, FleetAddresses.resolve(resolution, vars: vars), LoadIdentity())
    }

    /// Roles resolved for every machine, addresses only for the first `rows` machines in inventory
    /// order (what the Fleet table shows first). Complete at once when the fleet is that small.
    public static func firstScreen(_ inventory: Inventory, rows: Int, vars: VarsDirectory? = nil) -> ResolvedFleet {
        guard inventory.machines.count > rows else { return ResolvedFleet(inventory, vars: vars) }
        let vars = vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) }
        let resolution = InventoryResolution(inventory)
        let first = Array(inventory.machines.values.prefix(rows))
        return ResolvedFleet(inventory, resolution, vars, FleetAddresses.resolve(resolution, vars: vars, only: first), LoadIdentity())
    }

    private init(_ inventory: Inventory, _ resolution: InventoryResolution, _ vars: VarsDirectory?,
                 _ addresses: FleetAddresses, _ load: LoadIdentity) {
        self.inventory = inventory
        self.resolution = resolution
        self.vars = vars
        self.addresses = addresses
        self.load = load
    }

    /// Every address read (self when it already is).
    public func completed() -> ResolvedFleet {
        isComplete ? self : ResolvedFleet(inventory, resolution, vars, FleetAddresses.resolve(resolution, vars: vars), load)
    }

    /// Whether every machine's addresses (and the zerotier networks) have been read.
    public var isComplete: Bool { addresses.covered == nil }
    /// Whether `other` is this fleet or its completion (the same load of the same inventory).
    public func isSameLoad(as other: ResolvedFleet) -> Bool { load === other.load }
    /// Whether the machine's target and overlay IP have been read (a nil target then means "none").
    public func addressesKnown(of machine: String) -> Bool { addresses.covered?.contains(machine) ?? true }

    public var zerotier: [ZerotierNetwork] { addresses.zerotier }
    /// machine → deploy target (the first of clan's candidates; absent where clan has none).
    public var targets: [String: DeployTarget] { addresses.targets }
    /// machine → overlay IP (first zerotier network that has one).
    public var overlayIPs: [String: String] { addresses.overlayIPs }

    public func roles(of machine: String) -> [String] { resolution.roles(of: machine) }
    public func services(of machine: String) -> [RoleAssignment] { resolution.assignments(of: machine) }
    public func target(of machine: String) -> DeployTarget? { addresses.targets[machine] }

    /// Every way to reach the machine in clan's order (`DeployTargetResolver.candidates`); `config`
    /// is the flake's evaluated machine config and exports.
    public func targetCandidates(of machine: Machine, config: ClanDeployConfig?) -> [DeployTarget] {
        DeployTargetResolver.candidates(of: machine, resolution: resolution, vars: vars, config: config)
    }
    public func overlayIP(of machine: String) -> String? { addresses.overlayIPs[machine] }

    /// Services screen matrix: rows = machines (inventory order), columns = every instance/role.
    public var roleColumns: [RoleRef] { Array(resolution.roleMembers.keys) }
    public func holds(_ machine: String, _ role: RoleRef) -> Bool { resolution.holds(machine, role) }
}

/// Where the machines can be reached: deploy targets, overlay IPs and the zerotier networks, read
/// from `vars/` with each zerotier IP file opened once.
public struct FleetAddresses: Sendable {
    public var zerotier: [ZerotierNetwork] = []
    public var targets: [String: DeployTarget] = [:]
    public var overlayIPs: [String: String] = [:]
    /// The machines whose addresses were read; nil: all of them, and the zerotier networks.
    public var covered: Set<String>?

    /// Every machine (`only` nil), or just `only` (then without the zerotier networks, which list
    /// every member's IP).
    public static func resolve(_ resolution: InventoryResolution, vars: VarsDirectory?, only: [Machine]? = nil) -> FleetAddresses {
        var ips = ZerotierIPs(vars: vars)
        var out = FleetAddresses()
        if let only {
            out.covered = Set(only.map(\.name))
            ips.prefetch(resolution, only: out.covered)
            for m in only {
                // The first zerotier network (instance order) with an IP for the machine, as below.
                for a in resolution.assignments(of: m.name) where a.module.name == "zerotier" {
                    if out.overlayIPs[m.name] == nil, let ip = ips.ip(of: m.name, instance: a.ref.instance).0 { out.overlayIPs[m.name] = ip }
                }
                out.targets[m.name] = DeployTargetResolver.first(of: m, resolution: resolution, ips: &ips)
            }
            return out
        }
        ips.prefetch(resolution)
        out.zerotier = ZerotierView.networks(resolution, ips: &ips)
        out.overlayIPs.reserveCapacity(resolution.inventory.machines.count)
        out.targets.reserveCapacity(resolution.inventory.machines.count)
        for net in out.zerotier {
            for m in net.members { if let ip = m.ip, out.overlayIPs[m.machine] == nil { out.overlayIPs[m.machine] = ip } }
        }
        for m in resolution.inventory.machines.values {
            out.targets[m.name] = DeployTargetResolver.first(of: m, resolution: resolution, ips: &ips)
        }
        return out
    }
}
