import Foundation

/// Answers one prompt; the TUI asks with a masked field, the CLI reads the terminal without echo.
public typealias PromptAnswerer = @Sendable (PromptRequest) async throws -> String
public typealias VarsEventSink = @Sendable (VarsEvent) -> Void

/// clan's `vars generate` / `--regenerate` / `vars fix` over a clan directory (clan-formats.md §2.7):
/// closure selection, prompts up front, each generator in a bwrap sandbox on a private tmpfs,
/// outputs checked, secrets encrypted to the right recipients, atomic writes, one git commit per
/// generator, all under the clan lock.
public struct VarsEngine: Sendable {
    public let clanDirectory: String
    public let catalog: GeneratorCatalog
    public let backend: VarsSecretBackend
    public let runner: VarsCommandRunner
    /// How scripts run; nil: the platform's sandbox found on PATH (`GeneratorSandbox.detect`).
    public var sandbox: GeneratorSandbox?
    /// Where private work dirs are created; must be a tmpfs. nil: `WorkBase.resolve`.
    public var workBase: String?
    /// Supplies the script of generators whose definition carries none (a flake's `finalScript`).
    public typealias ScriptProvider = @Sendable (_ generator: Generator, _ machine: String) async throws -> String
    public var scriptProvider: ScriptProvider?
    /// Where `CLAN_NO_COMMIT` is read; nil means this process's environment.
    public var environment: [String: String]?

    public init(clanDirectory: String, catalog: GeneratorCatalog, backend: VarsSecretBackend, runner: VarsCommandRunner) {
        self.clanDirectory = clanDirectory
        self.catalog = catalog
        self.backend = backend
        self.runner = runner
    }

    // MARK: - Planning

    /// clan's `Generator.exists`: every file present and the validation hash accepted.
    public func exists(_ id: GeneratorID) -> Bool {
        guard let g = catalog.generators[id] else { return false }
        let dir = clanDirectory + "/vars/" + id.relDir
        let filesThere = g.files.allSatisfy { FileManager.default.fileExists(atPath: dir + "/" + $0.name + ($0.secret ? "/secret" : "/value")) }
        return filesThere && VarsStatusChecker.readValidationHash(dir) == g.definition.validationHash
    }

    /// What `generate` would run. `machines` empty means every machine and every flake-level
    /// generator (clan's `run_flake_generators`, generate.py:441-458); given machines bring the
    /// flake-level generators whose files are deployed to one of them, with their missing
    /// dependencies — what those machines receive (clan's `vars generate <m>` and `machines update`
    /// leave them out and then cannot upload them). `generator` restricts to one generator name (and
    /// always runs it, with its dependents); `regenerate` re-runs what exists. `exportKey` (with
    /// `generator`) names one flake-level generator: only it runs, with its dependents.
    public func plan(machines: [String] = [], generator: String? = nil, regenerate: Bool = false, exportKey: String? = nil) throws -> VarsPlan {
        let requestedMachines = machines.isEmpty ? catalog.machineNames : machines
        for m in requestedMachines where catalog.declarations[m] == nil {
            throw VarsError(catalog.source, "machine '\(m)' declares no generators")
        }
        let flakeLevel = machines.isEmpty ? catalog.flakeLevelGenerators.map(\.id) : flakeLevelReceived(by: machines)
        var requested = Array(Set(requestedMachines.flatMap { catalog.generators(for: $0).map(\.id) } + flakeLevel)).sorted()
        if let generator, let exportKey {
            // Two exports may hold generators of the same name (A/one, B/one): the key picks one.
            guard catalog.generators[.perExport(generator, exportKey)] != nil else {
                throw VarsError("", "Generator '\(generator)' not found in export '\(exportKey)'")
            }
            requested = [.perExport(generator, exportKey)]
        } else if let generator {
            requested = requested.filter { $0.name == generator }
            if requested.isEmpty {
                throw VarsError("", "Generator '\(generator)' not found in machine\(requestedMachines.count == 1 ? "" : "s") \(requestedMachines.joined(separator: ", "))")
            }
        }
        let closure = (generator != nil || regenerate)
            ? VarsGraph.requestedClosure(requested: requested, catalog: catalog, exists: exists)
            : VarsGraph.allMissingClosure(requested: requested, catalog: catalog, exists: exists)
        // Dependents on machines that were not requested cannot run while one of their own
        // dependencies is missing (clan would fail decrypting it); they are left for when that
        // machine is generated. Requested generators are never dropped.
        let requestedSet = Set(requestedMachines.flatMap { catalog.generators(for: $0).map(\.id) } + flakeLevel)
        var kept = closure
        var changed = true
        while changed {
            changed = false
            let inPlan = Set(kept)
            kept = kept.filter { id in
                if requestedSet.contains(id) { return true }
                let ok = (catalog.generators[id]?.dependencies ?? []).allSatisfy { inPlan.contains($0) || exists($0) }
                if !ok { changed = true }
                return ok
            }
        }
        // clan's default selection (`all_missing_closure`) leaves out a missing shared dependency that
        // only a machine not asked for declares (real clan's zerotier: a peer's `zerotier-network-<i>`
        // needs `zerotier-identity-<controller>`), then fails on it mid-run in `decrypt_dependencies`
        // (generator.py:575-590) after committing what ran before. fleet plans the missing dependencies
        // of what it keeps (clan's `add_missing_dependencies`): the files `clan vars generate <controller>` writes.
        let withDeps = VarsGraph.addMissingDependencies(Set(kept), catalog: catalog, exists: exists)
        let order = withDeps.count > kept.count ? VarsGraph.toposort(withDeps, catalog: catalog) : kept
        // Every dependency of what will run must resolve (clan fails in `_resolve_dep_generator` when
        // it reaches the generator; fleet refuses before asking or running anything, with clan's text).
        for id in order {
            guard let g = catalog.generators[id] else { continue }
            for dep in g.dependencies { _ = try catalog.resolveDependency(dep, of: g) }
        }
        var prompts: [PromptRequest] = [], reused: [PromptRequest] = []
        var affected = Set<String>()
        for id in order {
            guard let g = catalog.generators[id] else { continue }
            affected.formUnion(g.machines)
            for p in g.prompts {
                let req = PromptRequest(generator: id, prompt: p, machines: g.machines)
                let stored = clanDirectory + "/vars/\(id.relDir)/\(p.name)/secret"
                // 26.05: a persisted answer is reused silently unless --regenerate.
                if p.persist && !regenerate && FileManager.default.fileExists(atPath: stored) { reused.append(req) } else { prompts.append(req) }
            }
        }
        return VarsPlan(generators: order, requestedMachines: requestedMachines, regenerate: regenerate,
                        prompts: prompts, reusedPrompts: reused, affectedMachines: affected.sorted())
    }

    /// The flake-level generators deploying a file to one of `machines`, plus the dependencies of
    /// those that are missing on disk (transitively), sorted.
    func flakeLevelReceived(by machines: [String]) -> [GeneratorID] {
        var out = Set(catalog.flakeLevelGenerators.filter { !Set($0.machines).isDisjoint(with: machines) }.map(\.id))
        var queue = Array(out)
        while let id = queue.popLast() {
            for dep in catalog.generators[id]?.dependencies ?? [] where !out.contains(dep) && catalog.generators[dep] != nil && !exists(dep) {
                out.insert(dep)
                queue.append(dep)
            }
        }
        return out.sorted()
    }

    // MARK: - Generating

    /// Runs `plan`. Throws on the first failing generator; the generators before it stay committed,
    /// and no var is ever half written.
    @discardableResult
    public func generate(_ plan: VarsPlan, answer: PromptAnswerer, events: @escaping VarsEventSink = { _ in }) async throws -> [GeneratorID] {
        if plan.isEmpty { return [] }
        let events = VarsLog.recording(events)
        // Fail before asking anything when there is no usable admin key.
        _ = try adminUser(SopsKeyIndex(clanDirectory: clanDirectory))
        // …and before asking anything when scripts cannot run safely (clan generator.py:685-690).
        let env = environment ?? ProcessInfo.processInfo.environment
        let base = try workBase ?? WorkBase.resolve(environment: env)
        let sandbox = try self.sandbox ?? GeneratorSandbox.detect(environment: env, noSandbox: false)
        // Prompts up front, as clan does, and before taking the clan lock (a person may take a while to
        // type); answers stay in memory and in the private tmpfs only.
        var answers: [GeneratorID: [String: [UInt8]]] = [:]
        for req in plan.prompts {
            events(.log("Prompting value for \(req.generator.name)/\(req.prompt.name) for machines: \(req.machines.joined(separator: ", "))"))
            answers[req.generator, default: [:]][req.prompt.name] = Array(try await answer(req).utf8)
        }
        for req in plan.reusedPrompts {
            let path = clanDirectory + "/vars/\(req.generator.relDir)/\(req.prompt.name)/secret"
            answers[req.generator, default: [:]][req.prompt.name] = try backend.decrypt(try readText(path))
        }

        let git = try await gitDirectory()
        let lock = try await FileLock.clan(gitDirectory: git)
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries()
        GitStaleLocks.remove(gitDirectory: git)
        PrivateWorkDir.removeStale(base: base)
        VarsRollback.removeStale(gitDirectory: git)
        var keys = SopsKeyIndex(clanDirectory: clanDirectory)
        let admin = try adminUser(keys)

        // clan `_ensure_healthy`: refuse to run over secrets whose recipients drifted.
        let checker = VarsStatusChecker(clanDirectory: clanDirectory, catalog: catalog, keys: keys)
        for m in plan.requestedMachines {
            let s = try checker.status(machine: m)
            if !s.unfixedSecretVars.isEmpty {
                throw VarsError("", "Health check failed for machine \(m):\nSecret vars store: recipients of \(s.unfixedSecretVars.map(\.id).joined(separator: ", ")) differ from the wanted keys; run 'fleet vars fix \(m)' first")
            }
        }

        // clan: every requested machine gets access to the existing shared secrets deployed to it.
        for m in plan.requestedMachines {
            for gen in catalog.generators(for: m) where gen.share {
                for f in gen.files where f.secret && f.deploy {
                    let rel = "vars/\(gen.id.relDir)/\(f.name)"
                    let secretPath = clanDirectory + "/" + rel + "/secret"
                    guard FileManager.default.fileExists(atPath: secretPath) else { continue }
                    let machineKeys = keys.machines[m] ?? []
                    let current = try SopsFileRecipients.read(path: secretPath)
                    if !machineKeys.isEmpty && !machineKeys.isDisjoint(with: current) { continue }
                    let writerNow = VarsSecretWriter(clanDirectory: clanDirectory, backend: backend, adminUser: admin, groups: catalog.groups(for:))
                    var touched = try writerNow.ensureMachineKey(m, keys: &keys)
                    try writerNow.addLink(secretRel: rel, kind: "machines", name: m)
                    let wanted = writerNow.wantedRecipients(secretRel: rel, groupMachines: [m])
                    try VarsAtomicWrite.write(Array(try backend.reencrypt(try readText(secretPath), to: wanted.sorted()).utf8), to: secretPath)
                    touched.append(rel)
                    let message = "vars: grant \(m) access to \(gen.name)/\(f.name)"
                    if try await commit(paths: touched, message: message) { events(.log("[\(m)] \(message)")) }
                }
            }
        }

        let writer = VarsSecretWriter(clanDirectory: clanDirectory, backend: backend, adminUser: admin, groups: catalog.groups(for:))
        var done: [GeneratorID] = []
        for (i, id) in plan.generators.enumerated() {
            try Task.checkCancellation()
            guard let gen = catalog.generators[id] else { continue }
            events(.generatorStarted(id, index: i, total: plan.generators.count))
            try await run(gen, prompts: answers[id] ?? [:], requestedMachines: plan.requestedMachines, writer: writer, keys: &keys,
                          sandbox: sandbox, workBase: base,
                          gitDirectory: git, events: events)
            events(.generatorFinished(id))
            done.append(id)
        }
        return done
    }

    private func run(_ gen: Generator, prompts: [String: [UInt8]], requestedMachines: [String], writer: VarsSecretWriter, keys: inout SopsKeyIndex,
                     sandbox: GeneratorSandbox, workBase: String,
                     gitDirectory: String, events: @escaping VarsEventSink) async throws {
        let id = gen.id
        let context = "generator \(id)"
        let script: String
        if let s = gen.definition.script {
            script = s
        } else if let provider = scriptProvider {
            // clan builds finalScript for the generator's machine (the first requested one for shared);
            // a flake-level generator's belongs to no machine.
            script = try await provider(gen, id.isExport ? "" : gen.share ? (requestedMachines.first { gen.machines.contains($0) } ?? gen.machines[0]) : gen.machines[0])
        } else {
            throw VarsError(context, "no script known for this generator")
        }
        let prefix = "[\(id.machine ?? id.exportKey.map { "export: \($0)" } ?? "shared")]"
        let work = try PrivateWorkDir(base: workBase)
        defer { work.remove() }

        // clan's `decrypt_dependencies` (clan_lib/vars/generator.py:576-597): `$in/<dep>/<file>` for
        // every file of every dependency, which may be a shared generator another machine declares.
        for dep in gen.dependencies {
            let d = try catalog.resolveDependency(dep, of: gen)
            for f in d.files {
                let dir = clanDirectory + "/vars/\(d.id.relDir)/\(f.name)"
                let bytes: [UInt8]
                if f.secret {
                    guard FileManager.default.fileExists(atPath: dir + "/secret") else {
                        throw VarsError(context, "dependency \(dep.name)/\(f.name) has not been generated")
                    }
                    bytes = try backend.decrypt(try readText(dir + "/secret"))
                } else {
                    guard let v = FileManager.default.contents(atPath: dir + "/value") else {
                        throw VarsError(context, "dependency \(dep.name)/\(f.name) has not been generated")
                    }
                    bytes = Array(v)
                }
                try work.write(bytes, to: "\(work.inDir)/\(gen.inputLocation(of: dep))/\(f.name)")
            }
        }
        for p in gen.prompts {
            guard let v = prompts[p.name] else { throw VarsError(context, "prompt value for '\(p.name)' in generator \(gen.name) not provided") }
            try work.write(v, to: "\(work.promptsDir)/\(p.name)")
        }

        let (argv, scriptEnvironment) = sandbox.command(work: work, script: script, hasPrompts: !gen.prompts.isEmpty)
        let result = try await runner.run(argv: argv, environment: scriptEnvironment, workingDirectory: work.path,
                                          onLine: { line, isErr in events(.output(id, line: line, isStderr: isErr)) })
        guard result.status == 0 else {
            let tail = result.stderr.split(separator: "\n").suffix(20).joined(separator: "\n")
            throw VarsError(context, "script failed with exit status \(result.status)\(tail.isEmpty ? "" : ":\n" + tail)")
        }

        // Outputs: exactly the declared files (persisted prompts are filled from the answer).
        var outputs: [String: [UInt8]] = [:]
        for f in gen.files {
            let p = "\(work.outDir)/\(f.name)"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, let d = FileManager.default.contents(atPath: p) {
                outputs[f.name] = Array(d)
            } else if let prompt = gen.prompts.first(where: { $0.persist && $0.name == f.name }), let v = prompts[prompt.name] {
                outputs[f.name] = v
            } else {
                let produced = ((try? FileManager.default.contentsOfDirectory(atPath: work.outDir)) ?? []).sorted()
                throw VarsError(context, "did not generate a file for '\(f.name)'\nOutput files:\n" + produced.map { "  - \($0)\n" }.joined())
            }
        }

        // Store and commit; on any failure (a full disk, a failed commit) the generator's directory
        // goes back to exactly its old files, so no var is left half rotated.
        let rollback = try VarsRollback(directory: clanDirectory + "/vars/" + id.relDir, gitDirectory: gitDirectory, key: id.relDir)
        var deletedElsewhere: [String] = []
        do {
            // Store. Paths to commit are relative to the clan directory.
            var changed: [String] = ["vars/" + id.relDir]
            // clan's share migration in `StoreBase.set` (clan_lib/vars/_types.py:281-297): writing a
            // var of a shared generator deletes that var's per-machine copy of every declaring
            // machine; writing a per-machine one deletes the shared copy. Secret vars go whole
            // (sops `delete`), public ones lose `value` and their folder when it is left empty.
            // No migration for a flake-level generator (_types.py:296-298).
            let previous: [GeneratorID] = id.isExport ? [] : id.isShared ? gen.machines.map { .perMachine(id.name, $0) } : [.shared(id.name)]
            for f in gen.files where outputs[f.name] != nil {
                for p in previous {
                    let rel = "vars/\(p.relDir)/\(f.name)"
                    let varDir = clanDirectory + "/" + rel
                    if f.secret, FileManager.default.fileExists(atPath: varDir + "/secret") {
                        try FileManager.default.removeItem(atPath: varDir)
                        changed.append(rel)
                        deletedElsewhere.append(rel)
                    } else if !f.secret, FileManager.default.fileExists(atPath: varDir + "/value") {
                        try FileManager.default.removeItem(atPath: varDir + "/value")
                        if ((try? FileManager.default.contentsOfDirectory(atPath: varDir)) ?? []).isEmpty { rmdir(varDir) }
                        changed.append(rel)
                        deletedElsewhere.append(rel)
                    }
                }
            }
            let machinesStr = " for machines: \(gen.machines.joined(separator: ", "))"
            for f in gen.files {
                guard let value = outputs[f.name] else { continue }
                let rel = "vars/\(id.relDir)/\(f.name)"
                if f.secret, let deployTo = f.deployTo {
                    // A flake-level file: its `deploy` list are the machines linked (each gets its age
                    // key first), the first one's defaultGroups the groups (sops.py `_set`:178-199).
                    for m in deployTo { changed += try writer.ensureMachineKey(m, keys: &keys) }
                    try writer.writeSecret(secretRel: rel, value: value, machines: deployTo, groupMachines: Array(deployTo.prefix(1)))
                    events(.log("\(prefix) Updated secret var \(gen.name)/\(f.name)\(machinesStr)"))
                } else if f.secret {
                    // clan `StoreBase.set`: a secret is deployed to every machine declaring it
                    // (`deploy=var.machines if var.deploy`, clan_lib/vars/_types.py:308-318; a shared
                    // generator's vars carry all declaring machines, generator.py:365-372), each of
                    // which gets its age key first (`_set`, secret_modules/sops.py:186-188).
                    let deployTo = f.deploy ? gen.machines : []
                    for m in deployTo { changed += try writer.ensureMachineKey(m, keys: &keys) }
                    try writer.writeSecret(secretRel: rel, value: value, machines: deployTo, groupMachines: gen.machines)
                    events(.log("\(prefix) Updated secret var \(gen.name)/\(f.name)\(machinesStr)"))
                } else {
                    let path = clanDirectory + "/" + rel + "/value"
                    let old = FileManager.default.contents(atPath: path).map(Array.init)
                    if old == value {
                        events(.log("\(prefix) Var \(gen.name)/\(f.name)\(machinesStr) remains unchanged: \(Self.display(value))"))
                    } else {
                        try VarsAtomicWrite.write(value, to: path)
                        events(.log("\(prefix) Updated var \(gen.name)/\(f.name)\(machinesStr)\n  old: \(old.map(Self.display) ?? "<not set>")\n  new: \(Self.display(value))"))
                    }
                }
            }
            let hashPath = clanDirectory + "/vars/\(id.relDir)/.validation-hash"
            if let h = gen.definition.validationHash {
                try VarsAtomicWrite.write(Array(h.utf8), to: hashPath)
            } else {
                unlink(hashPath)
            }
            let message = "vars: update via generator \(id)"  // clan: f"… {self.key}" (generator.py:754-758)
            if try await commit(paths: changed, message: message) { events(.committed(id, message: message)) }
        } catch {
            rollback.restore()
            _ = try? await git(["reset", "-q", "--", "vars/" + id.relDir] + deletedElsewhere)
            // Committed copies of the other placement come back from git.
            if !deletedElsewhere.isEmpty { _ = try? await git(["checkout", "-q", "HEAD", "--"] + deletedElsewhere) }
            throw error
        }
        rollback.discard()
    }

    static func display(_ v: [UInt8]) -> String { String(validating: v, as: UTF8.self) ?? "<binary blob>" }

    // MARK: - Fix

    /// clan's `vars fix`: add missing machine and group links, drop machine links of shared
    /// `deploy = false` files, and re-encrypt every secret whose recipients differ from the wanted set.
    /// One commit per machine, `secrets: fix vars for <m>`. Returns the fixed var paths.
    @discardableResult
    public func fix(machines: [String] = [], events: VarsEventSink = { _ in }) async throws -> [String] {
        let git = try await gitDirectory()
        let lock = try await FileLock.clan(gitDirectory: git)
        defer { withExtendedLifetime(lock) {} }
        removeStaleTemporaries()
        GitStaleLocks.remove(gitDirectory: git)
        let keys = SopsKeyIndex(clanDirectory: clanDirectory)
        let writer = VarsSecretWriter(clanDirectory: clanDirectory, backend: backend, adminUser: try adminUser(keys), groups: catalog.groups(for:))
        var fixedAll: [String] = []
        for m in machines.isEmpty ? catalog.machineNames : machines {
            var fixed: [String] = []
            for gen in catalog.generators(for: m) {
                for f in gen.files where f.secret {
                    let rel = "vars/\(gen.id.relDir)/\(f.name)"
                    let secretPath = clanDirectory + "/" + rel + "/secret"
                    guard FileManager.default.fileExists(atPath: secretPath) else { continue }
                    for g in catalog.groups(for: m) { try writer.addLink(secretRel: rel, kind: "groups", name: g) }
                    if f.deploy && keys.hasMachine(m) {
                        try writer.addLink(secretRel: rel, kind: "machines", name: m)
                    } else if gen.share && !f.deploy {
                        writer.removeLink(secretRel: rel, kind: "machines", name: m)
                    }
                    let text = try readText(secretPath)
                    let current = try SopsFileRecipients.read(path: secretPath)
                    let wanted = writer.wantedRecipients(secretRel: rel, groupMachines: [m])
                    if current != wanted {
                        guard !wanted.isEmpty else { throw VarsError(rel, "no recipient is linked (machines/, users/, groups/ empty or broken); refusing to re-encrypt") }
                        try VarsAtomicWrite.write(Array(try backend.reencrypt(text, to: wanted.sorted()).utf8), to: secretPath)
                        events(.log("[\(m)] Re-encrypted \(gen.name)/\(f.name) for \(wanted.count) recipient\(wanted.count == 1 ? "" : "s")"))
                        fixed.append(rel)
                    }
                }
            }
            // The machine's own age key secret too (clan re-keys it with `secrets key update`).
            let keyRel = "sops/secrets/\(m)-age.key"
            let keyPath = clanDirectory + "/" + keyRel + "/secret"
            if FileManager.default.fileExists(atPath: keyPath) {
                let current = try SopsFileRecipients.read(path: keyPath)
                let wanted = writer.wantedRecipients(secretRel: keyRel, groupMachines: [m])
                if current != wanted && !wanted.isEmpty {
                    try VarsAtomicWrite.write(Array(try backend.reencrypt(try readText(keyPath), to: wanted.sorted()).utf8), to: keyPath)
                    events(.log("[\(m)] Re-encrypted the machine age key for \(wanted.count) recipient\(wanted.count == 1 ? "" : "s")"))
                    fixed.append(keyRel)
                }
            }
            let paths = Array(Set(catalog.generators(for: m).map { "vars/" + $0.id.relDir })).sorted() + [keyRel]
            if try await commit(paths: paths, message: "secrets: fix vars for \(m)") {
                events(.log("[\(m)] committed: secrets: fix vars for \(m)"))
            }
            fixedAll += fixed
        }
        if machines.isEmpty { fixedAll += try await fixFlakeLevel(writer: writer, keys: keys, events: events) }
        return fixedAll
    }

    /// `fix` for the flake-level generators (a whole-clan fix; clan's `vars fix` has none): each
    /// secret linked to exactly the machines of its `deploy` list that have a key, and re-encrypted
    /// to its links plus the first deploy machine's defaultGroups — what `vars check` wants. One
    /// commit per export key, `secrets: fix vars for export: <key>`.
    func fixFlakeLevel(writer: VarsSecretWriter, keys: SopsKeyIndex, events: VarsEventSink) async throws -> [String] {
        var fixedAll: [String] = []
        for key in Set(catalog.exportGenerators.map(\.exportKey)).sorted() {
            var fixed: [String] = []
            let gens = catalog.flakeLevelGenerators.filter { $0.id.exportKey == key }
            for gen in gens {
                for f in gen.files where f.secret {
                    let rel = "vars/\(gen.id.relDir)/\(f.name)"
                    let secretPath = clanDirectory + "/" + rel + "/secret"
                    guard FileManager.default.fileExists(atPath: secretPath) else { continue }
                    let deployTo = f.deployTo ?? []
                    let groupMachines = Array(deployTo.prefix(1))
                    for m in groupMachines { for g in catalog.groups(for: m) { try writer.addLink(secretRel: rel, kind: "groups", name: g) } }
                    for m in deployTo where keys.hasMachine(m) { try writer.addLink(secretRel: rel, kind: "machines", name: m) }
                    let linked = (try? FileManager.default.contentsOfDirectory(atPath: clanDirectory + "/" + rel + "/machines")) ?? []
                    for m in linked where !deployTo.contains(m) { writer.removeLink(secretRel: rel, kind: "machines", name: m) }
                    let current = try SopsFileRecipients.read(path: secretPath)
                    let wanted = writer.wantedRecipients(secretRel: rel, groupMachines: groupMachines)
                    if current != wanted {
                        guard !wanted.isEmpty else { throw VarsError(rel, "no recipient is linked (machines/, users/, groups/ empty or broken); refusing to re-encrypt") }
                        try VarsAtomicWrite.write(Array(try backend.reencrypt(try readText(secretPath), to: wanted.sorted()).utf8), to: secretPath)
                        events(.log("[export: \(key)] Re-encrypted \(gen.name)/\(f.name) for \(wanted.count) recipient\(wanted.count == 1 ? "" : "s")"))
                        fixed.append(rel)
                    }
                }
            }
            let message = "secrets: fix vars for export: \(key)"
            if try await commit(paths: gens.map { "vars/" + $0.id.relDir }, message: message) { events(.log("[export: \(key)] committed: \(message)")) }
            fixedAll += fixed
        }
        return fixedAll
    }

    /// Creates a machine's age key pair when it has none (clan's `ensure_machine_key`), committed.
    /// Returns the new public key, nil when the machine already had one.
    public func ensureMachineKey(_ machine: String) async throws -> SopsKeyRef? {
        let git = try await gitDirectory()
        let lock = try await FileLock.clan(gitDirectory: git)
        defer { withExtendedLifetime(lock) {} }
        var keys = SopsKeyIndex(clanDirectory: clanDirectory)
        if keys.hasMachine(machine) { return nil }
        let writer = VarsSecretWriter(clanDirectory: clanDirectory, backend: backend, adminUser: try adminUser(keys), groups: catalog.groups(for:))
        let paths = try writer.ensureMachineKey(machine, keys: &keys)
        _ = try await commit(paths: paths, message: "secrets: add machine key for \(machine)")
        return keys.machines[machine]?.first
    }

    // MARK: - Helpers

    /// Temporary siblings left by a run that was killed between write and rename (`.<name>.tmp-…`,
    /// `.<name>.lnk-…`). Called under the clan lock, so no other writer owns them; without this a
    /// later `git add` of the generator directory would commit them.
    func removeStaleTemporaries() {
        for root in ["vars", "sops"] {
            guard let e = FileManager.default.enumerator(atPath: clanDirectory + "/" + root) else { continue }
            while let rel = e.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix("."), name.contains(".tmp-") || name.contains(".lnk-") {
                    unlink(clanDirectory + "/" + root + "/" + rel)
                }
            }
        }
    }

    /// The sops user whose key is one of the admin keys (clan matches the admin's public key against
    /// `sops/users/*/key.json`).
    func adminUser(_ keys: SopsKeyIndex) throws -> String {
        let admin = Set(backend.adminRecipients)
        guard !admin.isEmpty else {
            throw VarsError("", "Cannot find admin keys on this computer: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, or create ~/.config/sops/age/keys.txt")
        }
        guard let user = keys.users.keys.sorted().first(where: { !(keys.users[$0] ?? []).isDisjoint(with: admin) }) else {
            throw VarsError(clanDirectory + "/sops/users", "none of your public keys (\(admin.sorted().map(\.publicKey).joined(separator: ", "))) is registered as a sops user")
        }
        return user
    }

    func readText(_ path: String) throws -> String {
        guard let d = FileManager.default.contents(atPath: path) else { throw VarsError(path, "cannot read file") }
        return String(decoding: d, as: UTF8.self)
    }

    /// Commits go through clan's `commit_files` rules (CLAN_NO_COMMIT included).
    var clanGit: ClanGit { ClanGit(directory: clanDirectory, runner: runner, environment: environment) }

    func git(_ args: [String]) async throws -> VarsCommandResult { try await clanGit.git(args) }

    func gitDirectory() async throws -> String { try await clanGit.gitDirectory() }

    func commit(paths: [String], message: String) async throws -> Bool { try await clanGit.commit(paths: paths, message: message) }
}
