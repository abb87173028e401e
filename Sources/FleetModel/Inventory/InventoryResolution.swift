import Collections
import OrderedCollections

/// A role of an instance, written `instance/role` (as `fleet list --json` reports it).
public struct RoleRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var instance: String
    public var role: String
    public init(instance: String, role: String) {
        self.instance = instance
        self.role = role
    }
    public var description: String { "\(instance)/\(role)" }
    public static func < (a: RoleRef, b: RoleRef) -> Bool { (a.instance, a.role) < (b.instance, b.role) }
}

/// One level of settings that applies to a machine in a role.
public struct SettingsLayer: Equatable, Sendable {
    public enum Level: Equatable, Sendable {
        case role
        case tag(String)
        case machine
    }
    public var level: Level
    public var settings: Settings
}

/// A machine holding a role: why, and with which settings.
public struct RoleAssignment: Equatable, Sendable {
    public var ref: RoleRef
    public var module: ServiceInstance.Module
    /// Listed by name in `roles.<r>.machines`.
    public var byName: Bool
    /// Tags of `roles.<r>.tags` the machine carries.
    public var byTags: [String]
    /// Role settings, then each matching tag's settings, then the machine's own, in that order.
    public var layers: [SettingsLayer]
    /// The layers merged, later on top (`SettingsMerge`).
    public var settings: JSONValue
}

/// Who holds which role. Mirrors `machine_instances()` in clan_lib/machines/actions.py: a machine
/// holds a role when the role lists it by name, or lists a tag found in the machine's evaluated tags
/// (which include the implicit `all`, `nixos`, `darwin`).
///
/// Computed in one pass, linear in machines + role members: machines are numbered in name order,
/// each tag keeps its members as numbers, a role's members are gathered from its tag lists with a
/// stamp per machine (no sets, no string sorting), and a member's settings are merged once per
/// distinct combination of matching tags (10k machines holding `sshd/server` through the same tags
/// share one merged value). Assignments are stored as (role, variant) pairs per machine and built
/// into `RoleAssignment`s when asked for.
public struct InventoryResolution: Sendable {
    public let inventory: Inventory
    /// Every role of every instance in document order, with its members sorted by name.
    public let roleMembers: OrderedDictionary<RoleRef, [String]>
    /// References to machines that do not exist (`instances.x.roles.y.machines.ghost`).
    public let warnings: [String]

    /// Per role (index into `roleMembers`): its ref and module.
    private let roleInfo: [(ref: RoleRef, module: ServiceInstance.Module)]
    /// Per role: `instance/role`, spelled once (`roles(of:)` is asked for every machine).
    private let roleNames: [String]
    /// Distinct (why, settings) combinations of role holders.
    private let variants: [Variant]
    /// Per variant: how its holders hold the role.
    private let holdings: [RoleHolding]
    /// Assignments of machine i (inventory order): `assigned[assignStart[i]..<assignStart[i + 1]]`.
    private let assignStart: [Int32]
    private let assigned: [(role: Int32, variant: Int32)]
    /// tag → machine numbers (inventory order) carrying it, in name order.
    private let tagIndex: [String: [Int32]]

    private struct Variant: Sendable {
        var byName: Bool
        var byTags: [String]
        var layers: [SettingsLayer]
        var settings: JSONValue
    }

    public init(_ inventory: Inventory) { self.init(inventory, warnings: true) }

    /// `warnings: false` leaves `warnings` empty: for a part of the fleet (`ResolvedFleet.firstScreen`),
    /// where the roles list machines that are only missing from the part.
    init(_ inventory: Inventory, warnings collectWarnings: Bool) {
        self.inventory = inventory
        let machines = inventory.machines
        let names = machines.keys
        let n = names.count
        // Machine numbers in name order (the loaders sort machines by name, so usually 0..<n).
        var byName = Array(0..<n)
        if !zip(names, names.dropFirst()).allSatisfy({ $0 < $1 }) { byName.sort { names[$0] < names[$1] } }
        var rank = [Int32](repeating: 0, count: n)
        for (r, i) in byName.enumerated() { rank[i] = Int32(r) }

        var tagIndex: [String: [Int32]] = [:]
        for i in byName { for t in machines.values[i].tags { tagIndex[t, default: []].append(Int32(i)) } }

        var roleMembers = OrderedDictionary<RoleRef, [String]>()
        var roleInfo: [(ref: RoleRef, module: ServiceInstance.Module)] = []
        var variants: [Variant] = []
        var triples: [(machine: Int32, role: Int32, variant: Int32)] = []
        var warnings: [String] = []
        var stamp = [Int32](repeating: -1, count: n)
        var tagMask = [UInt64](repeating: 0, count: n)
        for inst in inventory.instances.values {
            for role in inst.roles.values {
                let roleNo = Int32(roleInfo.count)
                let ref = RoleRef(instance: inst.name, role: role.name)
                roleInfo.append((ref, inst.module))
                var members: [Int32] = []
                var sources = 0
                var listed: [Int32: Settings] = [:]
                for (name, settings) in role.machines {
                    guard let i = machines.index(forKey: name) else {
                        guard collectWarnings else { continue }
                        warnings.append("instances.\(inst.name).roles.\(role.name).machines.\(name): no machine named \(name)")
                        continue
                    }
                    listed[Int32(i)] = settings
                    if stamp[i] != roleNo { stamp[i] = roleNo; tagMask[i] = 0; members.append(Int32(i)) }
                }
                if !role.machines.isEmpty { sources += 1 }
                let roleTags = Array(role.tags.keys)
                for (k, t) in roleTags.enumerated() {
                    guard let holders = tagIndex[t] else { continue }
                    sources += 1
                    for i32 in holders {
                        let i = Int(i32)
                        if stamp[i] != roleNo { stamp[i] = roleNo; tagMask[i] = 0; members.append(i32) }
                        if k < 64 { tagMask[i] |= 1 << UInt64(k) }
                    }
                }
                // One sorted tag list is already in name order; anything else is sorted by number.
                if sources > 1 || !role.machines.isEmpty { members.sort { rank[Int($0)] < rank[Int($1)] } }
                roleMembers[ref] = members.map { names[Int($0)] }

                // Settings: role, then each matching tag's (in the role's tag order), then the machine's.
                var shared: [UInt64: Int32] = [:]
                for i32 in members {
                    let i = Int(i32)
                    let own = listed[i32]
                    let viaTags: [String]
                    if roleTags.count <= 64 {
                        if own == nil, let v = shared[tagMask[i]] { triples.append((i32, roleNo, v)); continue }
                        viaTags = roleTags.indices.filter { tagMask[i] & (1 << UInt64($0)) != 0 }.map { roleTags[$0] }
                    } else {
                        viaTags = roleTags.filter { machines.values[i].tags.contains($0) }
                    }
                    var layers = [SettingsLayer(level: .role, settings: role.settings)]
                    for t in viaTags { layers.append(SettingsLayer(level: .tag(t), settings: role.tags[t] ?? Settings())) }
                    if let own { layers.append(SettingsLayer(level: .machine, settings: own)) }
                    let merged = layers.dropFirst().reduce(layers[0].settings.value) { SettingsMerge.merge($0, $1.settings.value) }
                    let v = Int32(variants.count)
                    variants.append(Variant(byName: own != nil, byTags: viaTags, layers: layers,
                                            settings: merged.isNull ? .object([:]) : merged))
                    if own == nil, roleTags.count <= 64 { shared[tagMask[i]] = v }
                    triples.append((i32, roleNo, v))
                }
            }
        }
        // Per machine, in instance/role document order: a stable counting sort by machine.
        var start = [Int32](repeating: 0, count: n + 1)
        for t in triples { start[Int(t.machine) + 1] += 1 }
        for i in 0..<n { start[i + 1] += start[i] }
        var fill = start
        var assigned = [(role: Int32, variant: Int32)](repeating: (0, 0), count: triples.count)
        for t in triples {
            assigned[Int(fill[Int(t.machine)])] = (t.role, t.variant)
            fill[Int(t.machine)] += 1
        }
        self.roleMembers = roleMembers
        self.warnings = warnings
        self.roleInfo = roleInfo
        self.roleNames = roleInfo.map(\.ref.description)
        self.variants = variants
        self.holdings = variants.map { RoleHolding(byName: $0.byName, byTags: $0.byTags) }
        self.assignStart = start
        self.assigned = assigned
        self.tagIndex = tagIndex
    }

    /// tag → machines carrying it (sorted), from the machines' tags.
    public var tagMembers: [String: [String]] {
        let names = inventory.machines.keys
        return tagIndex.mapValues { $0.map { names[Int($0)] } }
    }

    /// Machines holding `instance/role`, sorted.
    public func members(of ref: RoleRef) -> [String] { roleMembers[ref] ?? [] }

    public func assignments(of machine: String) -> [RoleAssignment] {
        guard let i = inventory.machines.index(forKey: machine) else { return [] }
        return assigned[Int(assignStart[i])..<Int(assignStart[i + 1])].map { a in
            let r = roleInfo[Int(a.role)], v = variants[Int(a.variant)]
            return RoleAssignment(ref: r.ref, module: r.module, byName: v.byName, byTags: v.byTags, layers: v.layers, settings: v.settings)
        }
    }

    /// Machine `row`'s (inventory order) roles in instance/role document order, as numbers for
    /// `roleName` with how each is held (`ResolvedFleet.rolesHeld` without a `RoleAssignment`).
    func forEachHeldRole(ofRow row: Int, _ body: (Int, RoleHolding) -> Void) {
        for a in assigned[Int(assignStart[row])..<Int(assignStart[row + 1])] {
            body(Int(a.role), holdings[Int(a.variant)])
        }
    }

    /// Machine `row`'s assignments in the order of `assignments(of:)`, without building them: each
    /// one's role number, ref, module and merged settings (`DeployTargetResolver.first` at 10k
    /// machines built, copied and freed a `RoleAssignment` per role held).
    func forEachAssignment(ofRow row: Int, _ body: (_ role: Int, _ ref: RoleRef, _ module: ServiceInstance.Module, _ settings: JSONValue) -> Void) {
        for a in assigned[Int(assignStart[row])..<Int(assignStart[row + 1])] {
            let r = Int(a.role)
            body(r, roleInfo[r].ref, roleInfo[r].module, variants[Int(a.variant)].settings)
        }
    }

    /// Per role number, its module's name.
    var roleModuleNames: [String] { roleInfo.map(\.module.name) }

    /// Role `i`'s `instance/role`.
    func roleName(_ i: Int) -> String { roleNames[i] }

    /// Per machine, its assignments in instance/role document order.
    public var assignmentsByMachine: [String: [RoleAssignment]] {
        var out: [String: [RoleAssignment]] = [:]
        for name in inventory.machines.keys {
            let a = assignments(of: name)
            if !a.isEmpty { out[name] = a }
        }
        return out
    }

    /// `["zerotier/controller", "sshd/server", …]` for `fleet list --json`.
    public func roles(of machine: String) -> [String] {
        guard let i = inventory.machines.index(forKey: machine) else { return [] }
        return roles(ofRow: i)
    }

    /// `roles(of:)` of machine `row` (inventory order), without looking its name up.
    public func roles(ofRow row: Int) -> [String] {
        assigned[Int(assignStart[row])..<Int(assignStart[row + 1])].map { roleNames[Int($0.role)] }
    }

    /// The roles of one instance with their members.
    public func roles(ofInstance instance: String) -> [(role: String, machines: [String])] {
        roleMembers.filter { $0.key.instance == instance }.map { ($0.key.role, $0.value) }
    }

    /// Does `machine` hold `ref`? (Services matrix cell.)
    public func holds(_ machine: String, _ ref: RoleRef) -> Bool {
        guard let i = inventory.machines.index(forKey: machine) else { return false }
        return assigned[Int(assignStart[i])..<Int(assignStart[i + 1])].contains { roleInfo[Int($0.role)].ref == ref }
    }

    /// Machines carrying every one of `tags` (`clan machines list --tags`: all must match).
    public func machines(withAllTags tags: [String]) -> [Machine] {
        inventory.machineList.filter { m in tags.allSatisfy { m.tags.contains($0) } }
    }
}
