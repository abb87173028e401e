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
    /// Finds a machine's target when there is no override; default: `deploy.targetHost`.
    public var targetResolver: @Sendable (Machine) -> String?
    public var secretsProvider: SecretsProvider?
    public var secretUploadDirectory: String
    public var stageTimeouts: [DeployStage: Duration]
    /// Environment for local nix and ssh; nil inherits fleet's.
    public var environment: [String: String]?
    /// Parent of the private ControlMaster socket directory (default `$TMPDIR` or /tmp). Short paths
    /// only: a unix socket path has at most 107 bytes.
    public var controlDirectoryParent: String?
    /// Build every NixOS machine of the run in one nix evaluation + build (`BuildBatch`); off: one
    /// nix build per host.
    public var batchBuild: Bool = true
    /// Why nothing can be built (no flake to build from); only a dry run goes on without one, and
    /// says so at the build stage.
    public var nothingToBuild: String?

    public init(kind: DeployKind = .deploy, jobs: Int? = nil, builder: SystemBuilder,
                hostKeyPolicy: HostKeyPolicy = .strict, sshConfigFile: String? = nil, sshExtraOptions: [String] = [],
                targetOverrides: [String: String] = [:],
                targetResolver: @escaping @Sendable (Machine) -> String? = { $0.deploy.targetHost },
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
        self.targetResolver = targetResolver
        self.secretsProvider = secretsProvider
        self.secretUploadDirectory = secretUploadDirectory
        self.stageTimeouts = stageTimeouts
        self.environment = environment
        self.controlDirectoryParent = controlDirectoryParent
    }

    public func timeout(_ stage: DeployStage) -> Duration { stageTimeouts[stage] ?? stage.defaultTimeout }

    /// The target string for a machine: override, then the resolver.
    public func targetString(for machine: Machine) -> String? {
        targetOverrides[machine.name] ?? targetResolver(machine)
    }
}

/// Limits how many hosts run at once (`--jobs`). FIFO, cancellation-aware.
actor AsyncLimiter {
    private var available: Int
    private var waiters: [(id: UInt64, c: CheckedContinuation<Void, Error>)] = []
    private var nextID: UInt64 = 0

    init(_ limit: Int) { available = max(1, limit) }

    func acquire() async throws {
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
    /// the inventory directory's flake.nix), targets as clan resolves them (`ResolvedFleet.targets`:
    /// deploy.targetHost → network address → `root@<name>.<domain>`), clan's secret upload from the
    /// clan directory. `buildFlake` overrides the flake.
    public static func standard(kind: DeployKind, source: InventorySource, fleet: ResolvedFleet,
                                buildFlake: String? = nil, uploadSecrets: Bool = true) throws -> DeployOptions {
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
        let resolved = fleet.targets.mapValues(\.address)
        o.targetResolver = { m in resolved[m.name] ?? m.deploy.targetHost }
        if uploadSecrets, kind != .rollback, let clanDir {
            // A dry run only lists the files: it needs no age key.
            o.secretsProvider = kind == .dryRun ? ClanSecrets.listing(clanDirectory: clanDir) : ClanSecrets.provider(clanDirectory: clanDir)
        }
        return o
    }
}
