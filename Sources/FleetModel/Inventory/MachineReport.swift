import Collections
import OrderedCollections

/// The JSON a machine is reported as by `fleet show MACHINE --json` (and, for the `roles` key,
/// `fleet list --json`).
public enum MachineReport {
    public static func json(_ machine: Machine, in fleet: ResolvedFleet) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        o["name"] = .string(machine.name)
        o["class"] = .string(machine.machineClass.rawValue)
        o["system"] = optional(machine.system)
        o["description"] = optional(machine.description)
        o["icon"] = optional(machine.icon)
        o["tags"] = .array(machine.tags.map { .string($0) })
        o["userTags"] = .array(machine.userTags.map { .string($0) })
        o["installedAt"] = machine.installedAt.map { JSONValue($0) } ?? .null
        o["deploy"] = .object([
            "targetHost": optional(machine.deploy.targetHost),
            "buildHost": optional(machine.deploy.buildHost),
            "forwardAgent": machine.deploy.forwardAgent.map { .bool($0) } ?? .null,
        ])
        o["roles"] = .array(fleet.roles(of: machine.name).map { .string($0) })
        if let t = fleet.target(of: machine.name) {
            o["target"] = .object(["address": .string(t.address), "source": .string(sourceName(t.source))])
        } else {
            o["target"] = .null
        }
        o["overlayIP"] = optional(fleet.overlayIP(of: machine.name))
        o["services"] = .array(fleet.services(of: machine.name).map(service))
        return .object(o)
    }

    static func service(_ a: RoleAssignment) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        o["instance"] = .string(a.ref.instance)
        o["role"] = .string(a.ref.role)
        o["module"] = .object(["name": .string(a.module.name), "input": optional(a.module.input)])
        o["byName"] = .bool(a.byName)
        o["byTags"] = .array(a.byTags.map { .string($0) })
        o["settings"] = a.settings
        return .object(o)
    }

    public static func sourceName(_ s: DeployTarget.Source) -> String {
        DeployTarget(address: "", source: s).sourceLabel
    }

    private static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
}
