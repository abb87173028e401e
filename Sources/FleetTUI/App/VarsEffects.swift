import Foundation
import Synchronization
import FleetModel

/// Runs the vars engine for the UI: loads the tree, plans, generates with prompts answered in the
/// UI, fixes, reveals. Results come back as events; a pending prompt waits on a continuation that
/// the prompt overlay resumes.
final class VarsEffects: Sendable {
    private let queue: EventQueue
    private let source: InventorySource
    /// The prompt the running job waits on, resumed by `answer(_:)` from the UI thread.
    private let pendingAnswer = Mutex<CheckedContinuation<String, Error>?>(nil)

    /// The machine names of the inventory the UI was last given (`EffectRunner`), so the vars load
    /// of a directory source does not parse inventory.json a second time.
    private let loadedMachines: @Sendable () -> Set<String>?

    init(queue: EventQueue, source: InventorySource, loadedMachines: @escaping @Sendable () -> Set<String>? = { nil }) {
        self.queue = queue
        self.source = source
        self.loadedMachines = loadedMachines
    }

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The clan of the source (`ClanLayout`: clan directory, sops backend check, evaluated machines).
    private func repository() async throws -> VarsRepository {
        let layout = try await ClanLayout.load(source, loadedMachines: loadedMachines())
        try layout.requireSopsBackend()
        return VarsRepository(layout: layout)
    }

    private func engine() async throws -> VarsEngine {
        let repo = try await repository()
        guard let catalog = try await repo.loadCatalog() else {
            throw CLIError("no generator definitions in \(repo.clanDirectory) (generators.json or flake.nix)")
        }
        return repo.engine(catalog: catalog, backend: try NativeVarsSecrets(environment: environment))
    }

    func load() {
        let q = queue
        Task.detached { [self] in
            do {
                let repo = try await repository()
                let admin = (try? NativeVarsSecrets(environment: environment)).map { Set($0.adminRecipients) }
                var overview = try VarsOverview.load(repository: repo, catalog: try await repo.loadCatalog(),
                                                     adminRecipients: (admin?.isEmpty ?? true) ? nil : admin)
                overview.releaseCatalog()
                q.post(.varsLoaded(VarsRows.build(overview)))
                MallocPolicy.trim()
            } catch {
                q.post(.varsFailed(String(describing: error)))
            }
        }
    }

    func plan(_ intent: VarsIntent) {
        let q = queue
        Task.detached { [self] in
            do {
                let e = try await engine()
                // clan's `run_generators` migrates old zerotier layouts first, commits, and stops.
                if VarsMigrations.needed(clanDirectory: e.clanDirectory, catalog: e.catalog) {
                    let changed = try await VarsRepository(clanDirectory: e.clanDirectory).runMigrations(catalog: e.catalog)
                    if !changed.isEmpty {
                        q.post(.toast("zerotier vars moved to the all-shared layout (committed: \(ZerotierMigration.commitMessage)); see clan.lol/docs/unstable/guides/migrations/zerotier, then generate again", .success))
                        load()
                        return
                    }
                }
                let machines = intent.machine.map { [$0] } ?? intent.machines
                let plan = try e.plan(machines: machines, generator: intent.generator, regenerate: intent.kind == .rotate,
                                      exportKey: intent.exportKey)
                q.post(.varsPlanned(intent, plan, missing: VarsOverwrites.missingGenerators(plan, engine: e),
                                    overwrites: VarsOverwrites.existingFiles(plan, engine: e)))
            } catch {
                q.post(.toast("vars: \(error)", .error))
            }
        }
    }

    func run(_ plan: VarsPlan) {
        let q = queue
        Task.detached { [self] in
            let title = (plan.regenerate ? "rotate " : "generate ") + plan.generators.map(\.description).joined(separator: ", ")
            q.post(.varsJobStarted(title))
            do {
                let e = try await engine()
                let done = try await e.generate(plan, answer: { [self] req in try await self.ask(req) }, events: { ev in
                    switch ev {
                    case .generatorStarted(let g, let i, let n): q.post(.varsJobLine("[\(i + 1)/\(n)] \(g)"))
                    case .output(_, let line, _): q.post(.varsJobLine("  " + line))
                    case .log(let line): q.post(.varsJobLine(line))
                    case .committed(_, let message): q.post(.varsJobLine("committed: " + message))
                    case .generatorFinished: break
                    }
                })
                q.post(.varsJobFinished(ok: true, affectedMachines: plan.affectedMachines,
                                        message: "generated \(done.count) generator\(done.count == 1 ? "" : "s")"))
            } catch {
                q.post(.varsJobFinished(ok: false, affectedMachines: [], message: "vars failed: \(error)"))
            }
        }
    }

    /// Posts the prompt to the UI and waits for `answer(_:)`.
    private func ask(_ req: PromptRequest) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, Error>) in
            pendingAnswer.withLock { $0 = c }
            queue.post(.varsPromptRequested(req))
        }
    }

    func answer(_ value: String?) {
        let c = pendingAnswer.withLock { p in
            defer { p = nil }
            return p
        }
        if let value { c?.resume(returning: value) } else { c?.resume(throwing: CLIError("prompt cancelled")) }
    }

    func fix(machine: String?) {
        let q = queue
        Task.detached { [self] in
            do {
                let e = try await engine()
                let fixed = try await e.fix(machines: machine.map { [$0] } ?? [])
                q.post(.toast(fixed.isEmpty ? "nothing to fix" : "re-encrypted \(fixed.count) secret\(fixed.count == 1 ? "" : "s")", .success))
                load()
            } catch {
                q.post(.toast("vars fix: \(error)", .error))
            }
        }
    }

    /// Decrypts one secret for an explicit reveal. The value lives only in the event and the overlay.
    func reveal(generator: GeneratorID, file: String) {
        let q = queue
        Task.detached { [self] in
            do {
                let dir = try await repository().clanDirectory
                let plain = try VarsValueReader(clanDirectory: dir, backend: try NativeVarsSecrets(environment: environment))
                    .value(generator, file: file, secret: true)
                q.post(.secretRevealed(title: "\(generator)/\(file)", value: String(decoding: plain, as: UTF8.self)))
            } catch {
                q.post(.toast("cannot reveal: \(error)", .error))
            }
        }
    }
}
