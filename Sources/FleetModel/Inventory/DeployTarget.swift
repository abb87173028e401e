/// Where `clan machines update` would connect to a machine, and why.
public struct DeployTarget: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// `inventory.machines.<m>.deploy.targetHost`.
        case targetHost
        /// An overlay/network address: service module, instance, network priority.
        case network(module: String, instance: String, priority: Int)
        /// No address known: `root@<name>.<domain>` (clan's `networking.domain` default).
        case domainDefault
    }
    public var address: String
    public var source: Source
}

/// Mirrors `get_best_remote` (clan_lib/network/network.py, clan-formats.md §3.4) without probing:
/// deploy.targetHost, else the address in the highest-priority network the machine belongs to
/// (clan pings them in that order; offline we take the first that has an address), else
/// `root@<name>.<domain>`.
public enum DeployTargetResolver {
    /// Built-in network priorities (clan-formats.md §3.4).
    public static let priorities: [String: Int] = [
        "p2p-ssh-iroh": 3000, "internet": 2000, "yggdrasil": 2000, "wireguard": 1000,
        "zerotier": 900, "mycelium": 800, "tor": 10,
    ]

    /// `zerotierIP` looks up a member's zerotier address (default: read from `vars`).
    public static func target(of machine: Machine, resolution: InventoryResolution, vars: VarsDirectory?,
                              zerotierIP: ((_ machine: String, _ instance: String) -> String?)? = nil) -> DeployTarget {
        if let t = machine.deploy.targetHost, !t.isEmpty { return DeployTarget(address: t, source: .targetHost) }
        var candidates: [(priority: Int, order: Int, target: DeployTarget)] = []
        for (order, a) in resolution.assignments(of: machine.name).enumerated() {
            let module = a.module.name
            guard let priority = priorities[module], let host = address(module: module, instance: a.ref.instance, machine: machine.name,
                                                                        settings: a.settings, vars: vars, zerotierIP: zerotierIP) else { continue }
            candidates.append((priority, order, DeployTarget(address: host, source: .network(module: module, instance: a.ref.instance, priority: priority))))
        }
        // Highest priority first; ties keep instance order (a stable sort).
        if let best = candidates.sorted(by: { ($0.priority, -$0.order) > ($1.priority, -$1.order) }).first { return best.target }
        return DeployTarget(address: "root@\(machine.name).\(resolution.inventory.meta.domain)", source: .domainDefault)
    }

    /// The peer host a network module exports for the machine, as an ssh address (user root).
    static func address(module: String, instance: String, machine: String, settings: JSONValue, vars: VarsDirectory?,
                        zerotierIP: ((String, String) -> String?)? = nil) -> String? {
        switch module {
        case "internet":
            guard let host = settings["host"]?.stringValue, !host.isEmpty else { return nil }
            return host.contains("@") ? host : "root@" + bracketed(host)
        case "zerotier":
            let lookup = zerotierIP ?? { m, i in vars.flatMap { ZerotierView.ipAddress(of: m, instance: i, vars: $0).0 } }
            guard let ip = lookup(machine, instance) else { return nil }
            return "root@" + bracketed(ip)
        case "yggdrasil":
            return vars?.machineValue(machine, generator: "yggdrasil", file: "address").map { "root@" + bracketed($0) }
        case "mycelium":
            return vars?.machineValue(machine, generator: "mycelium", file: "ip").map { "root@" + bracketed($0) }
        default:
            return nil
        }
    }

    /// IPv6 literals need brackets in clan's address format (`root@[fd00::1]`).
    static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
