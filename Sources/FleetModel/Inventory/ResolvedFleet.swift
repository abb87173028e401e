import Synchronization

/// Everything the screens need about the fleet: role membership and per-machine services with
/// settings (computed with the fleet), and what comes from files under `vars/` — zerotier networks
/// and overlay IPs, deploy targets — read when first asked for and remembered. The first frame of a
/// 10k-machine fleet reads only the visible rows' files; `prefetch()` reads the rest off the UI
/// thread. Copies share what was read.
public struct ResolvedFleet: Sendable {
    public let inventory: Inventory
    public let resolution: InventoryResolution
    private let lookups: VarsLookups

    /// `vars` defaults to the `vars/` next to the inventory (`Inventory.clanDirectory`).
    public init(_ inventory: Inventory, vars: VarsDirectory? = nil) {
        self.inventory = inventory
        let resolution = InventoryResolution(inventory)
        self.resolution = resolution
        lookups = VarsLookups(resolution: resolution, vars: vars ?? inventory.clanDirectory.map { VarsDirectory(root: $0) })
    }

    /// Zerotier instances = networks, with members' IPs and the network id from `vars`.
    public var zerotier: [ZerotierNetwork] { lookups.networks() }
    /// machine → deploy target.
    public var targets: [String: DeployTarget] {
        var out: [String: DeployTarget] = [:]
        out.reserveCapacity(inventory.machines.count)
        for name in inventory.machines.keys { out[name] = lookups.target(name) }
        return out
    }
    /// machine → overlay IP (first zerotier network that has one).
    public var overlayIPs: [String: String] {
        var out: [String: String] = [:]
        for name in inventory.machines.keys { if let ip = lookups.overlayIP(name) { out[name] = ip } }
        return out
    }

    public func roles(of machine: String) -> [String] { resolution.roles(of: machine) }
    public func services(of machine: String) -> [RoleAssignment] { resolution.assignments(of: machine) }
    public func target(of machine: String) -> DeployTarget? { inventory.machines[machine] == nil ? nil : lookups.target(machine) }
    public func overlayIP(of machine: String) -> String? { inventory.machines[machine] == nil ? nil : lookups.overlayIP(machine) }

    /// Reads every vars-derived value now (targets, overlay IPs, networks).
    public func prefetch() {
        for name in inventory.machines.keys { _ = lookups.target(name); _ = lookups.overlayIP(name) }
        _ = lookups.networks()
    }

    /// Services screen matrix: rows = machines (inventory order), columns = every instance/role.
    public var roleColumns: [RoleRef] { Array(resolution.roleMembers.keys) }
    public func holds(_ machine: String, _ role: RoleRef) -> Bool { resolution.holds(machine, role) }
}

/// The memo behind `ResolvedFleet`'s vars-derived values; one per resolved fleet, shared by copies,
/// safe to fill from the UI thread and a background prefetch at once.
private final class VarsLookups: Sendable {
    let resolution: InventoryResolution
    let vars: VarsDirectory?
    private struct Memo {
        var ips: [ZerotierKey: IP] = [:]
        var targets: [String: DeployTarget] = [:]
        var overlay: [String: String?] = [:]
        var networks: [ZerotierNetwork]?
    }
    private struct ZerotierKey: Hashable { var machine: String; var instance: String }
    private typealias IP = (address: String?, layout: ZerotierVarsLayout?)
    private let memo = Mutex(Memo())

    init(resolution: InventoryResolution, vars: VarsDirectory?) {
        self.resolution = resolution
        self.vars = vars
    }

    /// File reads happen outside the lock; two threads may read the same file, the results agree.
    private func ip(_ machine: String, _ instance: String) -> IP {
        let key = ZerotierKey(machine: machine, instance: instance)
        if let hit = memo.withLock({ $0.ips[key] }) { return hit }
        let value: IP = vars.map { ZerotierView.ipAddress(of: machine, instance: instance, vars: $0) } ?? (nil, nil)
        memo.withLock { $0.ips[key] = value }
        return value
    }

    func target(_ machine: String) -> DeployTarget {
        if let hit = memo.withLock({ $0.targets[machine] }) { return hit }
        guard let m = resolution.inventory.machines[machine] else {
            return DeployTarget(address: "root@\(machine).\(resolution.inventory.meta.domain)", source: .domainDefault)
        }
        let t = DeployTargetResolver.target(of: m, resolution: resolution, vars: vars) { self.ip($0, $1).address }
        memo.withLock { $0.targets[machine] = t }
        return t
    }

    /// The first zerotier network (instance order) in which the machine has an address.
    func overlayIP(_ machine: String) -> String? {
        if let hit = memo.withLock({ $0.overlay[machine] }) { return hit }
        var seen: Set<String> = []
        var found: String?
        for a in resolution.assignments(of: machine) where a.module.name == "zerotier" && seen.insert(a.ref.instance).inserted {
            if let address = ip(machine, a.ref.instance).address { found = address; break }
        }
        memo.withLock { $0.overlay[machine] = .some(found) }
        return found
    }

    func networks() -> [ZerotierNetwork] {
        if let hit = memo.withLock({ $0.networks }) { return hit }
        let nets = ZerotierView.networks(resolution, vars: vars) { self.ip($0, $1) }
        memo.withLock { $0.networks = nets }
        return nets
    }
}
