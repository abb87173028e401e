/// Where `clan machines update` would connect to a machine, and why.
public struct DeployTarget: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// `--target M=ADDR` (clan: `--target-host`).
        case override
        /// `inventory.machines.<m>.deploy.targetHost`.
        case targetHost
        /// An exported network (`clan.exports`, or for a directory source the address the network
        /// module exports for the machine): service module, instance, network priority.
        case network(module: String, instance: String, priority: Int)
        /// The machine config's `clan.core.networking.targetHost` (evaluated from the flake).
        case machineConfig
        /// A directory source has no machine config: clan's default for that option on NixOS,
        /// `root@<hostName>.<networking.domain>`, where clan's recommended defaults set
        /// networking.domain = meta.domain (nixosModules/clanCore/networking.nix:26-36,167-175).
        /// Never for darwin, where clan sets no domain and so has no target.
        case domainDefault
    }
    public var address: String
    public var source: Source

    public init(address: String, source: Source) {
        self.address = address
        self.source = source
    }

    /// Network candidates are probed before use (clan pings them); the others are taken as they are.
    public var needsProbe: Bool {
        if case .network = source { return true }
        return false
    }

    /// A few letters for the Fleet table's TARGET column: `inventory`, `zerotier`, `config`, `default`.
    public var shortSource: String {
        switch source {
        case .override: return "--target"
        case .targetHost: return "inventory"
        case .network(let module, _, _): return module
        case .machineConfig: return "config"
        case .domainDefault: return "default"
        }
    }

    /// Where the address came from, for `fleet show`, the detail pane and the resolve stage.
    public var sourceLabel: String {
        switch source {
        case .override: return "--target"
        case .targetHost: return "deploy.targetHost"
        case .network(let module, let instance, let priority): return "network \(module)/\(instance) (priority \(priority))"
        case .machineConfig: return "clan.core.networking.targetHost"
        case .domainDefault: return "networking.targetHost default"
        }
    }
}

/// Mirrors `get_best_remote` (clan_lib/network/network.py:211-320, clan-formats.md §3.4):
/// 1. inventory deploy.targetHost; 2. the networks the machine is a peer of, highest priority
/// first, each really probed by the deploy (`TargetProbe`; first reachable wins); 3. the machine
/// config's `clan.core.networking.targetHost`; 4. an error. `candidates` lists them in that order;
/// `target` is the static guess the Fleet table shows before anything is probed.
public enum DeployTargetResolver {
    /// Built-in network priorities (clan-formats.md §3.4), for a directory source.
    public static let priorities: [String: Int] = [
        "p2p-ssh-iroh": 3000, "internet": 2000, "yggdrasil": 2000, "wireguard": 1000,
        "zerotier": 900, "mycelium": 800, "tor": 10,
    ]

    /// Every way to reach the machine, in clan's order. `config` is the flake's evaluated machine
    /// config and exports; nil for a directory source (networks then come from the inventory's
    /// service settings and vars, and the machine-config default from meta.domain).
    public static func candidates(of machine: Machine, resolution: InventoryResolution, vars: VarsDirectory?,
                                  config: ClanDeployConfig? = nil) -> [DeployTarget] {
        var ips = ZerotierIPs(vars: vars)
        return candidates(of: machine, resolution: resolution, ips: &ips, config: config)
    }

    /// The same, with zerotier IPs read through `ips` (shared with the overlay IPs).
    static func candidates(of machine: Machine, resolution: InventoryResolution, ips: inout ZerotierIPs,
                           config: ClanDeployConfig? = nil) -> [DeployTarget] {
        let vars = ips.vars
        var out: [DeployTarget] = []
        if let t = machine.deploy.targetHost, !t.isEmpty { out.append(DeployTarget(address: t, source: .targetHost)) }
        if let config {
            for n in config.networks {
                for a in n.peers[machine.name] ?? [] {
                    out.append(DeployTarget(address: a, source: .network(module: moduleName(n.service), instance: n.instance, priority: n.priority)))
                }
            }
            if let t = config.machine(machine.name)?.targetHost {
                out.append(DeployTarget(address: t, source: .machineConfig))
            }
            return out
        }
        var networks: [(priority: Int, order: Int, target: DeployTarget)] = []
        for (order, a) in resolution.assignments(of: machine.name).enumerated() {
            let module = a.module.name
            guard let priority = priorities[module], let host = address(module: module, instance: a.ref.instance, machine: machine.name,
                                                                        settings: a.settings, vars: vars, ips: &ips) else { continue }
            networks.append((priority, order, DeployTarget(address: host, source: .network(module: module, instance: a.ref.instance, priority: priority))))
        }
        // Highest priority first; ties keep instance order (a stable sort).
        out += networks.sorted(by: { ($0.priority, -$0.order) > ($1.priority, -$1.order) }).map(\.target)
        let domain = resolution.inventory.meta.domain
        if machine.machineClass == .nixos, !domain.isEmpty {
            out.append(DeployTarget(address: "root@\(machine.name).\(domain)", source: .domainDefault))
        }
        return out
    }

    /// `candidates(…).first` for a directory source without building the others: a network's
    /// address is only looked up while no earlier-ranked one has been found (10k machines × their
    /// network roles, most of them never the first).
    static func first(of machine: Machine, resolution: InventoryResolution, ips: inout ZerotierIPs) -> DeployTarget? {
        first(of: machine, row: resolution.inventory.machines.index(forKey: machine.name), resolution: resolution,
              priorityOfRole: nil, ips: &ips)
    }

    /// The same for the machine at `row` of the resolution's inventory (nil: not in it, no roles),
    /// with `priorityOfRole` (`priorities(of:)`, per role number) when asked for many machines.
    static func first(of machine: Machine, row: Int?, resolution: InventoryResolution, priorityOfRole: [Int?]?,
                      ips: inout ZerotierIPs) -> DeployTarget? {
        if let t = machine.deploy.targetHost, !t.isEmpty { return DeployTarget(address: t, source: .targetHost) }
        var best: (priority: Int, target: DeployTarget)?
        if let row {
            resolution.forEachAssignment(ofRow: row) { role, ref, module, settings in
                // Ties keep instance order: a later network of the same priority never wins.
                guard let priority = priorityOfRole.map({ $0[role] }) ?? priorities[module.name], priority > best?.priority ?? Int.min,
                      let host = address(module: module.name, instance: ref.instance, machine: machine.name,
                                         settings: settings, vars: ips.vars, ips: &ips) else { return }
                best = (priority, DeployTarget(address: host, source: .network(module: module.name, instance: ref.instance, priority: priority)))
            }
        }
        if let best { return best.target }
        let domain = resolution.inventory.meta.domain
        if machine.machineClass == .nixos, !domain.isEmpty {
            return DeployTarget(address: "root@\(machine.name).\(domain)", source: .domainDefault)
        }
        return nil
    }

    /// Per role number of `resolution`, its network's priority (nil: not a network module).
    static func priorities(of resolution: InventoryResolution) -> [Int?] {
        resolution.roleModuleNames.map { priorities[$0] }
    }

    /// The first candidate (no probing): what the Fleet table shows. Nil where clan has no way to
    /// connect (it errors).
    public static func target(of machine: Machine, resolution: InventoryResolution, vars: VarsDirectory?,
                              config: ClanDeployConfig? = nil) -> DeployTarget? {
        candidates(of: machine, resolution: resolution, vars: vars, config: config).first
    }

    /// `clan-core/internet` → `internet`.
    static func moduleName(_ service: String) -> String {
        service.split(separator: "/").last.map(String.init) ?? service
    }

    /// The peer host a network module exports for the machine, as an ssh address (user root).
    static func address(module: String, instance: String, machine: String, settings: JSONValue, vars: VarsDirectory?,
                        ips: inout ZerotierIPs) -> String? {
        switch module {
        case "internet":
            guard let host = settings["host"]?.stringValue, !host.isEmpty else { return nil }
            return host.utf8.contains(UInt8(ascii: "@")) ? host : "root@" + bracketed(host)
        case "zerotier":
            guard let ip = ips.ip(of: machine, instance: instance).0 else { return nil }
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
        // Bytes, not Foundation's `contains` (a tenth of the target resolution at 10k machines).
        host.utf8.contains(UInt8(ascii: ":")) && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}
