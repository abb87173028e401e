import Collections
import Foundation

/// What `clan machines update` reads from the machines' NixOS/nix-darwin config and from
/// `clan.exports` to decide where a machine is reached and built (clan-compat-audit.md §4–5):
/// `clan.core.networking.{targetHost,buildHost}` (clan_lib/nix_selectors.py
/// `machine_networking_{target,build}_host`), `clan.core.deployment.requireExplicitUpdate`
/// (`deployment_require_explicit_update`) and the exported networks with their peers
/// (clan_lib/network/network.py `networks_from_flake`). A directory source has no machine config:
/// `ClanDeployConfig.empty`.
public struct ClanDeployConfig: Sendable, Equatable {
    public struct MachineConfig: Sendable, Equatable {
        public var targetHost: String?
        public var buildHost: String?
        public var requireExplicitUpdate: Bool
        /// `clan.core.networking.forwardAgent` (clan's fallback for the inventory's `deploy.forwardAgent`).
        public var forwardAgent: Bool?
        /// `clan.core.vars.sops.secretUploadDirectory` (clan's `get_upload_directory`).
        public var secretUploadDirectory: String?
        public init(targetHost: String? = nil, buildHost: String? = nil, requireExplicitUpdate: Bool = false,
                    forwardAgent: Bool? = nil, secretUploadDirectory: String? = nil) {
            self.targetHost = targetHost
            self.buildHost = buildHost
            self.requireExplicitUpdate = requireExplicitUpdate
            self.forwardAgent = forwardAgent
            self.secretUploadDirectory = secretUploadDirectory
        }
    }

    /// An exported network (`<service>:<instance>::` with `networking.{module,priority}`) and its
    /// peers (`<service>:<instance>:<role>:<machine>` with `peer.{hosts,port,user}`).
    public struct Network: Sendable, Equatable {
        public var service: String
        public var instance: String
        public var module: String
        public var priority: Int
        /// machine → candidate ssh addresses, in the order clan tries them (`user@host:port`).
        public var peers: [String: [String]]
        public init(service: String, instance: String, module: String, priority: Int, peers: [String: [String]]) {
            self.service = service
            self.instance = instance
            self.module = module
            self.priority = priority
            self.peers = peers
        }
    }

    public var machines: [String: MachineConfig]
    /// Highest priority first (clan sorts by `-priority`; Python's sort is stable, so ties keep the
    /// exports' order, which is attribute-name order).
    public var networks: [Network]

    public init(machines: [String: MachineConfig] = [:], networks: [Network] = []) {
        self.machines = machines
        self.networks = networks.enumerated().sorted { a, b in
            a.element.priority != b.element.priority ? a.element.priority > b.element.priority : a.offset < b.offset
        }.map(\.element)
    }

    public static let empty = ClanDeployConfig()

    public func machine(_ name: String) -> MachineConfig? { machines[name] }

    /// The machines an implicit update (no names given) leaves out.
    public var explicitOnly: Set<String> { Set(machines.filter { $0.value.requireExplicitUpdate }.map(\.key)) }

    // MARK: - Evaluation

    /// Every value under `builtins.tryEval (deepSeq …)`: one broken machine or a peer whose address
    /// var is not generated yet gives null there (clan then falls through), not a failed evaluation.
    static let machinesApply = """
        ms: builtins.mapAttrs (n: m: let t = x: let r = builtins.tryEval (builtins.deepSeq x x); in if r.success then r.value else null; c = m.config; in {
          targetHost = t (c.clan.core.networking.targetHost or null);
          buildHost = t (c.clan.core.networking.buildHost or null);
          requireExplicitUpdate = t (c.clan.core.deployment.requireExplicitUpdate or false);
          forwardAgent = t (c.clan.core.networking.forwardAgent or null);
          secretUploadDirectory = t (c.clan.core.vars.sops.secretUploadDirectory or null);
        }) ms
        """

    static let exportsApply = """
        es: builtins.mapAttrs (k: v: let t = x: let r = builtins.tryEval (builtins.deepSeq x x); in if r.success then r.value else null; in {
          networking = t (v.networking or null);
          peer = t (v.peer or null);
        }) es
        """

    static func machinesArgv(flake: String, system: String) -> [String] {
        SystemBuilder.nix + ["eval", "--flake-registry", "", "--json", "\(flake)#clanInternals.machines.\(system)",
                             "--apply", machinesApply]
    }

    static func exportsArgv(flake: String) -> [String] {
        SystemBuilder.nix + ["eval", "--flake-registry", "", "--json", "\(flake)#clan.exports", "--apply", exportsApply]
    }

    /// Evaluates a clan flake for the local system (clan evaluates every machine with the
    /// controller's `current_system()`). A flake without `clan.exports` has no networks; a flake
    /// without `clanInternals` (a plain nixosConfigurations flake) has no machine config.
    public static func evaluate(flake: String, system: String = FlakeGenerators.localSystem, runner: ProcessRunner = ProcessRunner(),
                                environment: [String: String]? = nil, timeout: Duration = .seconds(300)) async -> ClanDeployConfig {
        let raw = await evaluateJSON(flake: flake, system: system, runner: runner, environment: environment, timeout: timeout)
        return parse(machines: raw.machines, exports: raw.exports)
    }

    /// The two evaluations' JSON as nix printed it (nil where one failed), for `DeployConfigCache`.
    public static func evaluateJSON(flake: String, system: String = FlakeGenerators.localSystem, runner: ProcessRunner = ProcessRunner(),
                                    environment: [String: String]? = nil,
                                    timeout: Duration = .seconds(300)) async -> (machines: JSONValue?, exports: JSONValue?) {
        async let m = runner.run(ProcessSpec(argv: machinesArgv(flake: flake, system: system), environment: environment, timeout: timeout))
        async let e = runner.run(ProcessSpec(argv: exportsArgv(flake: flake), environment: environment, timeout: timeout))
        let machinesJSON = (try? await m).flatMap { $0.succeeded ? try? JSONParser.parse($0.stdout) : nil }
        let exportsJSON = (try? await e).flatMap { $0.succeeded ? try? JSONParser.parse($0.stdout) : nil }
        return (machinesJSON, exportsJSON)
    }

    /// The config for a source: evaluated for a flake, nil for a directory (no machine config).
    public static func evaluate(source: InventorySource, environment: [String: String]? = nil) async -> ClanDeployConfig? {
        guard case .flake(let f) = source else { return nil }
        return await evaluate(flake: FlakeEvaluator.flakeRef(f), environment: environment)
    }

    public static func parse(machines: JSONValue?, exports: JSONValue?) -> ClanDeployConfig {
        var ms: [String: MachineConfig] = [:]
        for (name, v) in machines?.objectValue ?? [:] {
            ms[name] = MachineConfig(targetHost: nonEmpty(v["targetHost"]?.stringValue), buildHost: nonEmpty(v["buildHost"]?.stringValue),
                                     requireExplicitUpdate: v["requireExplicitUpdate"]?.boolValue ?? false,
                                     forwardAgent: v["forwardAgent"]?.boolValue,
                                     secretUploadDirectory: nonEmpty(v["secretUploadDirectory"]?.stringValue))
        }
        return ClanDeployConfig(machines: ms, networks: networks(exports?.objectValue ?? OrderedDictionary()))
    }

    private static func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }

    /// clan_lib/exports/scope.py `parse_export`: `service:instance:role:machine`.
    static func scope(_ key: String) -> (service: String, instance: String, role: String, machine: String)? {
        let p = key.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard p.count == 4 else { return nil }
        return (p[0], p[1], p[2], p[3])
    }

    static func networks(_ exports: OrderedDictionary<String, JSONValue>) -> [Network] {
        var result: [Network] = []
        for (key, value) in exports {
            guard let net = value["networking"], !net.isNull, let s = scope(key), !s.instance.isEmpty,
                  let module = net["module"]?.stringValue else { continue }
            let priority = net["priority"]?.intValue ?? 1000
            var peers: [String: [String]] = [:]
            for (pk, pv) in exports {
                guard let peer = pv["peer"], !peer.isNull, let ps = scope(pk), !ps.machine.isEmpty,
                      ps.service == s.service, ps.instance == s.instance else { continue }
                let user = peer["user"]?.stringValue ?? "root"
                let port = peer["port"]?.intValue ?? 22
                // Only `plain` hosts: a `var` host whose value is missing made the whole peer null above.
                let hosts = (peer["hosts"]?.arrayValue ?? []).compactMap { $0["plain"]?.stringValue }
                peers[ps.machine] = hosts.map { h in
                    let host = h.contains(":") && !h.hasPrefix("[") ? "[\(h)]" : h
                    return "\(user)@\(host)" + (port == 22 ? "" : ":\(port)")
                }
            }
            result.append(Network(service: s.service, instance: s.instance, module: module, priority: priority, peers: peers))
        }
        return result
    }
}
