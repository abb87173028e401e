/// Which on-disk layout a zerotier value was read from (clan-formats.md §4).
public enum ZerotierVarsLayout: String, Sendable, Equatable {
    /// 26.05 / main: shared generators `zerotier-ip-<m>-<instance>`, `zerotier-network-<instance>`.
    case shared = "26.05"
    /// Per-machine `zerotier-ip-<instance>` (between the two releases).
    case oldFinal = "old-final"
    /// 25.11: per-machine generator `zerotier` with `zerotier-ip`, network id on the controller.
    case legacy = "25.11"
    /// `vars/shared/zerotier-controller/…` (seen in clan's own test fixtures).
    case canonical = "canonical"
}

public struct ZerotierMember: Equatable, Sendable {
    public var machine: String
    /// Roles held in this instance: controller, moon, peer.
    public var roles: [String]
    public var ip: String?
    public var layout: ZerotierVarsLayout?
}

/// One zerotier instance = one ZeroTier network.
public struct ZerotierNetwork: Equatable, Sendable {
    public var instance: String
    public var networkID: String?
    public var networkIDLayout: ZerotierVarsLayout?
    /// The one machine of the controller role (nil if none; clan requires exactly one).
    public var controller: String?
    public var moons: [String]
    public var peers: [String]
    /// Every machine with any role in the instance, sorted.
    public var members: [ZerotierMember]

    public func member(_ machine: String) -> ZerotierMember? { members.first { $0.machine == machine } }
}

public enum ZerotierView {
    /// Instances whose `module.name` is `zerotier`, with IPs and network id read from `vars`.
    public static func networks(_ resolution: InventoryResolution, vars: VarsDirectory?) -> [ZerotierNetwork] {
        var ips = ZerotierIPs(vars: vars)
        return networks(resolution, ips: &ips)
    }

    /// The same, reading each member's IP through `ips` (which remembers it for the deploy targets).
    static func networks(_ resolution: InventoryResolution, ips: inout ZerotierIPs) -> [ZerotierNetwork] {
        let vars = ips.vars
        return resolution.inventory.instances.values.filter { $0.module.name == "zerotier" }.map { inst in
            let roles = resolution.roles(ofInstance: inst.name)
            func holders(_ r: String) -> [String] { roles.first { $0.role == r }?.machines ?? [] }
            let controller = holders("controller").first
            var byMachine: [String: [String]] = [:]
            for (role, machines) in roles { for m in machines { byMachine[m, default: []].append(role) } }
            let members = byMachine.keys.sorted().map { m -> ZerotierMember in
                let (ip, layout) = ips.ip(of: m, instance: inst.name)
                return ZerotierMember(machine: m, roles: byMachine[m] ?? [], ip: ip, layout: layout)
            }
            let (nwid, nwidLayout) = vars.map { networkID(instance: inst.name, controller: controller, vars: $0) } ?? (nil, nil)
            return ZerotierNetwork(instance: inst.name, networkID: nwid, networkIDLayout: nwidLayout, controller: controller,
                                   moons: holders("moon"), peers: holders("peer"), members: members)
        }
    }

    /// The newest layout first; the migration (clan_lib/vars/migrations/zerotier.py) removes old ones.
    public static func ipAddress(of machine: String, instance: String, vars: VarsDirectory) -> (String?, ZerotierVarsLayout?) {
        if let v = vars.sharedValue(generator: "zerotier-ip-\(machine)-\(instance)", file: "ip") { return (v, .shared) }
        if let v = vars.machineValue(machine, generator: "zerotier-ip-\(instance)", file: "ip") { return (v, .oldFinal) }
        if let v = vars.machineValue(machine, generator: "zerotier", file: "zerotier-ip") { return (v, .legacy) }
        return (nil, nil)
    }

    public static func networkID(instance: String, controller: String?, vars: VarsDirectory) -> (String?, ZerotierVarsLayout?) {
        if let v = vars.sharedValue(generator: "zerotier-network-\(instance)", file: "network-id") { return (v, .shared) }
        if let c = controller, let v = vars.machineValue(c, generator: "zerotier", file: "zerotier-network-id") { return (v, .legacy) }
        if let v = vars.sharedValue(generator: "zerotier-controller", file: "zerotier-network-id") { return (v, .canonical) }
        return (nil, nil)
    }
}

/// Zerotier IPs read from `vars/` at most once per (machine, instance): the overlay IPs and the
/// deploy targets both need them, and at 10k machines each read is a file open (make bench).
struct ZerotierIPs {
    let vars: VarsDirectory?
    private var read: [String: [String: (String?, ZerotierVarsLayout?)]] = [:]   // instance → machine → value

    init(vars: VarsDirectory?) { self.vars = vars }

    /// Reads the IP of every member of every zerotier instance (of `only`, when given) up front, on
    /// all cores: ~8,000 small files at 10k machines, each an open/read/close that waits on the
    /// kernel, so two threads halve the time (docs/PERFORMANCE.md, perf-cold). What `ip(of:instance:)`
    /// then answers is exactly what it would have read itself.
    mutating func prefetch(_ resolution: InventoryResolution, only: Set<String>? = nil) {
        guard let vars else { return }
        var wanted: [(machine: String, instance: String)] = []
        var groups: [(instance: String, range: Range<Int>)] = []   // `wanted` is grouped by instance
        for inst in resolution.inventory.instances.values where inst.module.name == "zerotier" {
            let start = wanted.count
            var seen = Set<String>()
            for (ref, members) in resolution.roleMembers where ref.instance == inst.name {
                for m in members where (only?.contains(m) ?? true) && seen.insert(m).inserted { wanted.append((m, inst.name)) }
            }
            groups.append((inst.name, start..<wanted.count))
        }
        let values = ParallelRead.map(wanted) { w in
            var v = vars
            v.owner = w.machine  // recorded for its machine, as `ip(of:instance:)` would
            return ZerotierView.ipAddress(of: w.machine, instance: w.instance, vars: v)
        }
        // One instance's table at a time, sized once (8,000 inserts grew it a dozen times).
        for g in groups where !g.range.isEmpty {
            var known = read.removeValue(forKey: g.instance) ?? [:]
            known.reserveCapacity(known.count + g.range.count)
            for i in g.range { known[wanted[i].machine] = values[i] }
            read[g.instance] = known
        }
    }

    mutating func ip(of machine: String, instance: String) -> (String?, ZerotierVarsLayout?) {
        if let known = read[instance]?[machine] { return known }
        let value = vars.map { v in
            v.recorder.map { $0.owning(machine) { ZerotierView.ipAddress(of: machine, instance: instance, vars: v) } }
                ?? ZerotierView.ipAddress(of: machine, instance: instance, vars: v)
        } ?? (nil, nil)
        read[instance, default: [:]][machine] = value
        return value
    }
}
