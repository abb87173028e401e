import Foundation
import Synchronization

/// Vars before a deploy, as clan: `clan machines update` runs `run_generators(machines,
/// full_closure=False)` for the machines being deployed before any host is touched
/// (clan_lib/machines/update.py:210; clan-compat-audit.md §4). Missing vars are generated with the
/// same engine as `fleet vars generate` (sandbox, sops encryption, one commit per generator);
/// prompts go to `DeployInteraction.varsPrompt` (the dashboard's masked field, the CLI's terminal).
/// Without anyone to ask, a generator with prompts fails the run clearly and nothing is generated.
/// Runs once per deploy run; every host's `secrets` stage waits for it and reports its result.
public struct DeployVars: Sendable {
    public let repository: VarsRepository
    public var environment: [String: String]

    public init(clanDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.repository = VarsRepository(clanDirectory: clanDirectory)
        self.environment = environment
    }

    public struct Outcome: Sendable, Equatable {
        public var generated: [GeneratorID]
        public var lines: [String]
    }

    /// Why a deploy stopped after the zerotier migration (clan's banner, in one line).
    public static let migratedMessage = "zerotier vars were moved to the all-shared layout and committed (\"\(ZerotierMigration.commitMessage)\"), as clan does before generating; nothing was deployed. Read https://clan.lol/docs/unstable/guides/migrations/zerotier, then re-run the same command."

    /// The zerotier migration moved files: the run stops here without failing (clan prints its
    /// banner and `sys.exit(0)`s, clan_lib/vars/migrations/zerotier.py), each host not deployed.
    public struct Migrated: Error, CustomStringConvertible {
        public var description: String { DeployVars.migratedMessage }
    }

    /// Generates what is missing for `machines`; nil catalog (no definitions): nothing to do.
    public func run(machines: [String], interaction: DeployInteraction?) async throws -> Outcome {
        guard let catalog = try await repository.loadCatalog() else {
            return Outcome(generated: [], lines: ["no generator definitions: nothing to generate"])
        }
        // clan's `run_generators` starts with `run_migrations` (clan_lib/vars/generate.py:300-303): an
        // old zerotier layout is moved to the all-shared one and committed, then clan prints its
        // banner and exits 0 — nothing is generated or deployed in that run. fleet stops the same way
        // (`Migrated`: each host ends not deployed at its secrets stage, the run exits 0; nothing is
        // uploaded or activated). A migration that fails (clan's ClanError) fails the hosts.
        if VarsMigrations.needed(clanDirectory: repository.clanDirectory, catalog: catalog) {
            let changed = try await repository.runMigrations(catalog: catalog, environment: environment)
            if !changed.isEmpty { throw Migrated() }
        }
        let known = Set(catalog.machineNames)
        let wanted = machines.filter { known.contains($0) }
        if wanted.isEmpty { return Outcome(generated: [], lines: ["no generators for these machines"]) }
        var engine = repository.engine(catalog: catalog, backend: try NativeVarsSecrets(environment: environment))
        engine.environment = environment   // FLEET_VARS_WORKDIR, CLAN_NO_COMMIT, the sandbox's PATH
        let plan = try engine.plan(machines: wanted)
        if plan.isEmpty { return Outcome(generated: [], lines: ["all vars are up to date"]) }
        if !plan.prompts.isEmpty, interaction?.varsPrompt == nil {
            let names = plan.prompts.map { "\($0.generator.name)/\($0.prompt.name)" }.joined(separator: ", ")
            throw VarsError(repository.clanDirectory, "missing vars need answers (\(names)) and there is no terminal to ask on: run `fleet vars generate \(plan.affectedMachines.joined(separator: " "))` first, or deploy from a terminal or the dashboard")
        }
        let ask = interaction?.varsPrompt
        let answer: PromptAnswerer = { req in
            guard let ask, let a = await ask(req) else {
                throw VarsError(repository.clanDirectory, "prompt \(req.generator.name)/\(req.prompt.name) not answered")
            }
            return a
        }
        let log = LineBox()
        let done = try await engine.generate(plan, answer: answer, events: { e in
            if case .log(let s) = e { log.add(s) }
            if case .committed(_, let m) = e { log.add("committed: \(m)") }
        })
        return Outcome(generated: done, lines: log.lines + ["generated \(done.count) generator(s): \(done.map(\.description).joined(separator: ", "))"])
    }
}

/// The run's one vars step, shared by the hosts (like `BuildBatch`): the first host to ask starts
/// it, the others wait for the same result.
actor DeployVarsRun {
    private let step: DeployVars
    private let machines: [String]
    private let interaction: DeployInteraction?
    private var task: Task<Result<DeployVars.Outcome, Error>, Never>?

    init(step: DeployVars, machines: [String], interaction: DeployInteraction?) {
        self.step = step
        self.machines = machines
        self.interaction = interaction
    }

    func result() async -> Result<DeployVars.Outcome, Error> {
        if let task { return await task.value }
        let (step, machines, interaction) = (self.step, self.machines, self.interaction)
        let t = Task { () -> Result<DeployVars.Outcome, Error> in
            do { return .success(try await step.run(machines: machines, interaction: interaction)) } catch { return .failure(error) }
        }
        task = t
        return await t.value
    }

    func cancel() { task?.cancel() }
}

final class LineBox: Sendable {
    private let stored = Mutex<[String]>([])
    func add(_ s: String) { stored.withLock { $0.append(s) } }
    var lines: [String] { stored.withLock { $0 } }
}
