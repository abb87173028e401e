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
public struct InventoryResolution: Sendable {
    public let inventory: Inventory
    /// tag → machines carrying it (sorted), from the machines' tags.
    public let tagMembers: [String: [String]]
    /// Every role of every instance in document order, with its members sorted by name.
    public let roleMembers: OrderedDictionary<RoleRef, [String]>
    /// Per machine, its assignments in instance/role document order.
    public let assignmentsByMachine: [String: [RoleAssignment]]
    /// References to machines that do not exist (`instances.x.roles.y.machines.ghost`).
    public let warnings: [String]

    public init(_ inventory: Inventory) {
        self.inventory = inventory
        var tagMembers: [String: [String]] = [:]
        for m in inventory.machines.values {
            for t in m.tags { tagMembers[t, default: []].append(m.name) }
        }
        for k in tagMembers.keys { tagMembers[k]?.sort() }
        var roleMembers = OrderedDictionary<RoleRef, [String]>()
        var byMachine: [String: [RoleAssignment]] = [:]
        var warnings: [String] = []
        for inst in inventory.instances.values {
            for role in inst.roles.values {
                let ref = RoleRef(instance: inst.name, role: role.name)
                var members = Set<String>()
                for name in role.machines.keys {
                    if inventory.machines[name] == nil {
                        warnings.append("instances.\(inst.name).roles.\(role.name).machines.\(name): no machine named \(name)")
                    } else {
                        members.insert(name)
                    }
                }
                for t in role.tags.keys { members.formUnion(tagMembers[t] ?? []) }
                let sorted = members.sorted()
                roleMembers[ref] = sorted
                for name in sorted {
                    guard let machine = inventory.machines[name] else { continue }
                    var layers = [SettingsLayer(level: .role, settings: role.settings)]
                    let viaTags = role.tags.keys.filter { machine.tags.contains($0) }
                    for t in viaTags { layers.append(SettingsLayer(level: .tag(t), settings: role.tags[t] ?? Settings())) }
                    if let s = role.machines[name] { layers.append(SettingsLayer(level: .machine, settings: s)) }
                    let merged = layers.dropFirst().reduce(layers[0].settings.value) { SettingsMerge.merge($0, $1.settings.value) }
                    byMachine[name, default: []].append(RoleAssignment(
                        ref: ref, module: inst.module, byName: role.machines[name] != nil, byTags: Array(viaTags),
                        layers: layers, settings: merged.isNull ? .object([:]) : merged))
                }
            }
        }
        self.tagMembers = tagMembers
        self.roleMembers = roleMembers
        self.assignmentsByMachine = byMachine
        self.warnings = warnings
    }

    /// Machines holding `instance/role`, sorted.
    public func members(of ref: RoleRef) -> [String] { roleMembers[ref] ?? [] }

    public func assignments(of machine: String) -> [RoleAssignment] { assignmentsByMachine[machine] ?? [] }

    /// `["zerotier/controller", "sshd/server", …]` for `fleet list --json`.
    public func roles(of machine: String) -> [String] { assignments(of: machine).map(\.ref.description) }

    /// The roles of one instance with their members.
    public func roles(ofInstance instance: String) -> [(role: String, machines: [String])] {
        roleMembers.filter { $0.key.instance == instance }.map { ($0.key.role, $0.value) }
    }

    /// Does `machine` hold `ref`? (Services matrix cell.)
    public func holds(_ machine: String, _ ref: RoleRef) -> Bool {
        assignments(of: machine).contains { $0.ref == ref }
    }

    /// Machines carrying every one of `tags` (`clan machines list --tags`: all must match).
    public func machines(withAllTags tags: [String]) -> [Machine] {
        inventory.machineList.filter { m in tags.allSatisfy { m.tags.contains($0) } }
    }
}
