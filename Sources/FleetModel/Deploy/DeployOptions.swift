import Foundation

/// Everything a deploy run needs besides the machines.
public struct DeployOptions: Sendable {
    public var kind: DeployKind
    /// How many hosts run at once; nil = all (clan: one thread per machine).
    public var jobs: Int?
    public var builder: SystemBuilder
    public var hostKeyPolicy: HostKeyPolicy
    /// `-F file` for ssh (the testbed's ssh_config); nil = the user's `~/.ssh/config`.
    public var sshConfigFile: String?
    /// Extra `-o Key=Value` for every ssh.
    public var sshExtraOptions: [String]
    /// Targets by machine name that win over the inventory (`--target m=root@10.0.0.2`).
    public var targetOverrides: [String: String]
    public var secretsProvider: SecretsProvider?
    public var secretUploadDirectory: String
    public var stageTimeouts: [DeployStage: Duration]
    /// Environment for local nix and ssh; nil inherits fleet's.
    public var environment: [String: String]?
    /// Parent of the private ControlMaster socket directory (default `$TMPDIR` or /tmp). Short paths
    /// only: a unix socket path has at most 107 bytes.
    public var controlDirectoryParent: String?
    /// Build every NixOS machine of the run in one nix evaluation + build (`BuildBatch`); off: one
    /// nix build per host. Only for machines that build locally.
    public var batchBuild: Bool = true
    /// Why nothing can be built (no flake to build from); only a dry run goes on without one, and
    /// says so at the build stage.
    public var nothingToBuild: String?
    /// Who answers sudo password prompts and unknown host keys; nil: nobody (those hosts fail
    /// with a clear message).
    public var interaction: DeployInteraction?
    /// `clan.core.networking.forwardAgent` per machine, from the machines' config (clan's fallback
    /// when the inventory's `deploy.forwardAgent` is not set).
    public var configForwardAgent: [String: Bool] = [:]
    /// `clan.core.vars.sops.secretUploadDirectory` per machine, from the machines' config; a machine
    /// not listed uses `secretUploadDirectory`.
    public var configSecretUploadDirectory: [String: String] = [:]
    /// Generate missing vars of the deployed machines before any host (clan's `run_generators`);
    /// nil: do not.
    public var vars: DeployVars?
    /// Every way to reach a machine, in clan's order (`DeployTargetResolver.candidates`); network
    /// candidates are probed by the resolve stage, the first reachable wins. Overrides come first.
    public var targetCandidates: @Sendable (Machine) -> [DeployTarget] = { m in
        m.deploy.targetHost.map { [DeployTarget(address: $0, source: .targetHost)] } ?? []
    }
    /// How long a network candidate may take to answer (clan pings with a short timeout).
    public var probeTimeout: Duration = .seconds(2)
    /// The flake's evaluated machine config and exports (nil: a directory source, no machine config).
    public var deployConfig: ClanDeployConfig?
    /// `--build-local`: build every machine here, whatever the inventory says.
    public var buildLocal = false
    /// `--build-host ADDR` (`localhost` = here): clan's first choice of build host.
    public var buildHostOverride: String?
    /// `--option K V` pairs, flattened, passed to every nix build after clan's own options.
    public var nixOptions: [String] = []
    /// `--no-check` (clan): `NIXOS_NO_CHECK=1` for switch-to-configuration, inhibitors skipped.
    public var noCheck = false
    /// `--specialisation NAME` (clan, NixOS only): activate `<system>/specialisation/NAME`.
    public var specialisation: String?

    /// clan's nix options for a machine build (clan_lib/machines/update.py:30-42) plus the user's.
    public var buildNixOptions: [String] { NixBuildOptions.clanDefaults + nixOptions }

    /// Where the machine builds (`BuildPlacement.resolve`).
    public func buildPlacement(for machine: Machine) -> BuildPlacement {
        BuildPlacement.resolve(machine: machine, buildLocal: buildLocal, buildHostOverride: buildHostOverride,
                               config: deployConfig?.machine(machine.name))
    }

    public init(kind: DeployKind = .deploy, jobs: Int? = nil, builder: SystemBuilder,
                hostKeyPolicy: HostKeyPolicy = .ask, sshConfigFile: String? = nil, sshExtraOptions: [String] = [],
                targetOverrides: [String: String] = [:],
                secretsProvider: SecretsProvider? = nil,
                secretUploadDirectory: String = SecretUploadPlan.defaultDirectory,
                stageTimeouts: [DeployStage: Duration] = [:], environment: [String: String]? = nil,
                controlDirectoryParent: String? = nil) {
        self.kind = kind
        self.jobs = jobs
        self.builder = builder
        self.hostKeyPolicy = hostKeyPolicy
        self.sshConfigFile = sshConfigFile
        self.sshExtraOptions = sshExtraOptions
        self.targetOverrides = targetOverrides
        self.secretsProvider = secretsProvider
        self.secretUploadDirectory = secretUploadDirectory
        self.stageTimeouts = stageTimeouts
        self.environment = environment
        self.controlDirectoryParent = controlDirectoryParent
    }

    public func timeout(_ stage: DeployStage) -> Duration { stageTimeouts[stage] ?? stage.defaultTimeout }

    /// Where a machine's secrets go (clan: `SecretStore.get_upload_directory`).
    public func secretUploadDirectory(for machine: Machine) -> String {
        configSecretUploadDirectory[machine.name] ?? secretUploadDirectory
    }

    /// clan's `Machine.get_forward_agent` (clan_lib/machines/machines.py:148-165): the inventory's
    /// `deploy.forwardAgent` when set, else `clan.core.networking.forwardAgent`, else off.
    public func forwardAgent(for machine: Machine) -> Bool {
        machine.deploy.forwardAgent ?? configForwardAgent[machine.name] ?? false
    }

    /// The candidates the resolve stage tries, override first; the first is what the status probes
    /// and the TARGET column use (`ResolvedTargets`).
    public func targets(for machine: Machine) -> [DeployTarget] {
        if let o = targetOverrides[machine.name] { return [DeployTarget(address: o, source: .override)] }
        return targetCandidates(machine)
    }
}

/// clan's options for every machine build: `--show-trace --option keep-going true --option
/// accept-flake-config true -L` (clan_lib/machines/update.py:30-42).
public enum NixBuildOptions {
    public static let clanDefaults = ["--show-trace", "--option", "keep-going", "true", "--option", "accept-flake-config", "true", "-L"]

    /// `--option K V …` from the CLI (`["K", "V", …]` or `["K=V"]`) → flattened nix arguments.
    public static func parse(_ pairs: [(String, String)]) -> [String] {
        pairs.flatMap { ["--option", $0.0, $0.1] }
    }
}

/// Limits how many hosts run at once (`--jobs`). FIFO, cancellation-aware.
actor AsyncLimiter {
    private var available: Int
    private var waiters: [(id: UInt64, c: CheckedContinuation<Void, Error>)] = []
    private var nextID: UInt64 = 0

    init(_ limit: Int) { available = max(1, limit) }

    func acquire() async throws {
        // A cancelled run starts nothing more, even when a slot is free.
        try Task.checkCancellation()
        if available > 0 { available -= 1; return }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
                if Task.isCancelled { c.resume(throwing: CancellationError()) } else { waiters.append((id, c)) }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().c.resume() }
    }

    private func cancelWaiter(_ id: UInt64) {
        if let i = waiters.firstIndex(where: { $0.id == id }) { waiters.remove(at: i).c.resume(throwing: CancellationError()) }
    }
}

extension DeployOptions {
    public struct SetupError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// What `fleet deploy` and the Deploy screen use for a fleet: build from the flake (`--flake`, or
    /// the inventory directory's flake.nix), targets as clan resolves them (`targetCandidates`:
    /// deploy.targetHost → exported networks → the machine config's targetHost, from `deployConfig`;
    /// for a directory source the inventory's networks → `root@<name>.<domain>`), clan's secret upload from the
    /// clan directory. `buildFlake` overrides the flake. `deployConfig` is the flake's machine config
    /// and exports (`ClanDeployConfig.evaluate`), nil for a directory source.
    public static func standard(kind: DeployKind, source: InventorySource, fleet: ResolvedFleet,
                                buildFlake: String? = nil, uploadSecrets: Bool = true,
                                deployConfig: ClanDeployConfig? = nil) throws -> DeployOptions {
        let builder: SystemBuilder
        var clanDir: String?
        switch source {
        case .flake(let f):
            builder = .flake(buildFlake ?? f)
            clanDir = FlakeEvaluator.localDirectory(f)
        case .directory(let p), .demo(let p):
            clanDir = p
            if let buildFlake {
                builder = .flake(buildFlake)
            } else if FileManager.default.fileExists(atPath: p + "/flake.nix") {
                builder = .flake("path:" + p)
            } else if kind == .rollback || kind == .dryRun {
                builder = .flake("path:" + p)  // a rollback builds nothing; a dry run reports it
            } else {
                throw SetupError(description: "nothing to build from: \(p) has no flake.nix; pass a flake to build (--build-flake)")
            }
        }
        var o = DeployOptions(kind: kind, builder: builder)
        if kind == .dryRun, buildFlake == nil, case .flake(let ref) = builder, ref.hasPrefix("path:"),
           !FileManager.default.fileExists(atPath: String(ref.dropFirst(5)) + "/flake.nix") {
            o.nothingToBuild = "\(ref.dropFirst(5)) has no flake.nix (pass --build-flake to build from one)"
        }
        o.deployConfig = deployConfig
        for (name, c) in deployConfig?.machines ?? [:] {
            if let f = c.forwardAgent { o.configForwardAgent[name] = f }
            if let d = c.secretUploadDirectory { o.configSecretUploadDirectory[name] = d }
        }
        o.targetCandidates = { m in fleet.targetCandidates(of: m, config: deployConfig) }
        if uploadSecrets, kind != .rollback, let clanDir {
            // A dry run only lists the files: it needs no age key.
            o.secretsProvider = kind == .dryRun ? ClanSecrets.listing(clanDirectory: clanDir) : ClanSecrets.provider(clanDirectory: clanDir)
            if kind == .deploy { o.vars = DeployVars(clanDirectory: clanDir) }
        }
        return o
    }
}
