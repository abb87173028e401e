import ArgumentParser
import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// Glue between `fleet vars` and the model: admin keys, the crypto backend, the process runner,
/// terminal prompts and event printing.
enum VarsCLISupport {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Public keys of the admin identities, nil when none are configured (status then shows
    /// "undecryptable" as unknown).
    static func adminRecipients() -> Set<SopsKeyRef>? {
        guard let b = try? backend(), !b.adminRecipients.isEmpty else { return nil }
        return Set(b.adminRecipients)
    }

    static func backend() throws -> VarsSecretBackend {
        try NativeVarsSecrets(environment: environment)
    }

    static func engine(_ repo: VarsRepository, catalog known: GeneratorCatalog? = nil) async throws -> VarsEngine {
        let catalog: GeneratorCatalog
        if let known { catalog = known } else { catalog = try await VarsRepoOptions.catalog(repo) }
        let backend: VarsSecretBackend
        do { backend = try self.backend() } catch { throw CLIError("fleet: \(error)") }
        return repo.engine(catalog: catalog, backend: backend)
    }

    static func generate(repo: VarsRepository, machines: [String], generator: String?, regenerate: Bool,
                         exportKey: String? = nil, runOptions: VarsRunOptions) async throws {
        let catalog = try await VarsRepoOptions.catalog(repo)
        try VarsRepoOptions.checkMachines(machines, repo: repo, catalog: catalog)   // before anything needs a key
        // clan's `run_generators` migrates old zerotier layouts first, commits, and stops (generate.py:303),
        // before anything needs a key.
        if VarsMigrations.needed(clanDirectory: repo.clanDirectory, catalog: catalog) {
            if runOptions.dryRun {
                print("Would first move the zerotier vars to the all-shared layout (clan's migration, committed as \"\(ZerotierMigration.commitMessage)\") and stop there; run without --dry-run, then again.")
                return
            }
            let changed: [String]
            do { changed = try await repo.runMigrations(catalog: catalog) } catch { throw CLIError("fleet: \(error)") }
            if !changed.isEmpty {
                FileHandle.standardError.write(Data(ZerotierMigration.banner.utf8))
                return
            }
        }
        var engine = try await engine(repo, catalog: catalog)
        if runOptions.noSandbox {
            do { engine.sandbox = try GeneratorSandbox.detect(environment: environment, noSandbox: true) } catch { throw CLIError("fleet: \(error)") }
        }
        let plan: VarsPlan
        do { plan = try engine.plan(machines: machines, generator: generator, regenerate: regenerate, exportKey: exportKey) } catch { throw CLIError("fleet: \(error)") }
        if plan.isEmpty {
            print("All vars are up to date; nothing to generate.")
            return
        }
        if runOptions.dryRun {
            print("Would run, in order:")
            for g in plan.generators { print("  - \(g)") }
            for p in plan.prompts { print("Would ask: \(p.generator.name)/\(p.prompt.name) (\(p.prompt.kind.rawValue))") }
            for p in plan.reusedPrompts { print("Would reuse the stored answer of \(p.generator.name)/\(p.prompt.name)") }
            print("Affected machines: \(plan.affectedMachines.joined(separator: ", "))")
            return
        }
        let supplied = try parsePromptValues(runOptions.promptValues)
        let answer: PromptAnswerer = { req in
            if let v = supplied["\(req.generator.name).\(req.prompt.name)"] { return v }
            return try TerminalPrompt.ask(req)
        }
        do {
            let done = try await engine.generate(plan, answer: answer, events: printEvent)
            print("Generated \(done.count) generator\(done.count == 1 ? "" : "s"). Machines to deploy: \(plan.affectedMachines.joined(separator: ", "))")
        } catch { throw CLIError("fleet: \(error)") }
    }

    /// `GEN.PROMPT=@FILE` or `GEN.PROMPT=@-`. Literal values are refused: they would show in `ps`.
    static func parsePromptValues(_ specs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        var stdinUsed = false
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), spec[spec.index(after: eq)...].hasPrefix("@") else {
                throw CLIError("fleet: --prompt-value \(spec.split(separator: "=").first ?? ""): expected GEN.PROMPT=@FILE or GEN.PROMPT=@- (values on the command line would leak into ps and shell history)")
            }
            let key = String(spec[..<eq])
            let source = String(spec[spec.index(eq, offsetBy: 2)...])
            if source == "-" {
                guard !stdinUsed else { throw CLIError("fleet: --prompt-value: only one prompt can read stdin") }
                stdinUsed = true
                out[key] = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let d = FileManager.default.contents(atPath: source) else { throw CLIError("fleet: --prompt-value \(key): cannot read \(source)") }
                out[key] = String(decoding: d, as: UTF8.self)
            }
        }
        return out
    }

    @Sendable static func printEvent(_ e: VarsEvent) {
        switch e {
        case .generatorStarted(let id, let i, let n): print("[\(i + 1)/\(n)] \(id)")
        case .output(let id, let line, _): print("  \(id.name)> \(line)")
        case .log(let s): print(s)
        case .committed(_, let m): print("  committed: \(m)")
        case .generatorFinished: break
        }
        fflush(nil)   // every output stream; `stdout` is a C global Swift 6 will not touch
    }
}
