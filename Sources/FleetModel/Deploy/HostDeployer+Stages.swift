import Foundation

/// The stage bodies: what each stage runs (mirrors `clan machines update`, clan-formats.md §3.1).
extension HostDeployer {
    func resolve(_ ctx: StageContext) throws -> DeployOutcome {
        guard let text = options.targetString(for: machine) else {
            throw StageError(message: "no target host: set inventory.machines.\(host).deploy.targetHost or pass --target \(host)=user@host")
        }
        do {
            target = try SSHTarget.parse(text)
        } catch let e as SSHTarget.ParseError {
            throw StageError(message: e.description)
        }
        return .ok(target?.description ?? text)
    }

    /// Opens the ControlMaster (the only ssh handshake of the run) and learns the host's facts.
    func connect(_ ctx: StageContext) async throws -> DeployOutcome {
        connectAttempted = true
        let r = try await ctx.remote(RemoteFacts.probeArgv, logStdout: false)
        guard let f = RemoteFacts.parse(r.stdoutString) else {
            throw StageError(message: "unexpected answer from the host: \(r.stdoutString.prefix(200))")
        }
        if machine.machineClass == .darwin, f.kernel != "Darwin" {
            throw StageError(message: "machine class is darwin but the host runs \(f.kernel)")
        }
        if machine.machineClass == .nixos, f.kernel == "Darwin" {
            throw StageError(message: "machine class is nixos but the host runs Darwin")
        }
        facts = f
        generation = f.generation
        let current = f.currentSystem ?? "no system yet"
        ctx.log("connected: \(f.kernel), systemd \(f.hasSystemd ? "yes" : "no"), running \(current)")
        return .ok("\(f.kernel), running \(current)")
    }

    private func secrets(_ ctx: StageContext) async throws -> [UploadSecret] {
        guard let provider = options.secretsProvider else { return [] }
        let list = try await provider(machine)
        setSecrets(list.map(\.bytes))
        return list
    }

    func uploadSecrets(_ ctx: StageContext) async throws -> DeployOutcome {
        let list = try await secrets(ctx)
        if list.isEmpty { return .skipped("no secrets to upload") }
        let plan: SecretUploadPlan
        do { plan = try SecretUploadPlan(secrets: list, directory: options.secretUploadDirectory) } catch {
            throw StageError(message: "\(error)")
        }
        ctx.progress(nil, "uploading \(plan.fileCount) file(s) to \(plan.directory)")
        try await ctx.remote(plan.remoteArgv, stdin: plan.archive)
        return .ok("uploaded \(plan.fileCount) file(s) to \(plan.directory)")
    }

    func dryRunSecrets(_ ctx: StageContext) async throws -> DeployOutcome {
        let list = try await secrets(ctx)
        if list.isEmpty { return .skipped("no secrets to upload") }
        for s in list { ctx.log("would upload \(s.remotePath) (mode \(String(s.mode, radix: 8)))") }
        return .ok("would wipe \(options.secretUploadDirectory) and upload \(list.count) file(s)")
    }

    /// Builds the toplevel locally, folding nix's internal-json log into progress events.
    func build(_ ctx: StageContext) async throws -> DeployOutcome {
        if let batch, batch.covers(machine) {
            if let out = await batch.outPath(for: host, ctx) {
                systemPath = out
                ctx.progress(1, "built \(out)")
                return .ok("\(out) (built with the other hosts)")
            }
            try Task.checkCancellation()
            ctx.log("the shared build failed; building \(host) alone")
        }
        let argv = options.builder.buildArgv(machine: host, machineClass: machine.machineClass)
        let state = NixProgressBox()
        let r = try await ctx.run(argv, logStdout: false, onStderrLine: { line in
            let (lines, changed, p) = state.consume(line)
            for l in lines { ctx.log(l) }
            if changed { ctx.progress(p.buildFraction, p.buildSummary) }
        })
        let p = state.value
        guard r.status == 0 else {
            throw StageError(message: ErrorText.nix(errors: p.errors, stderrLines: r.stderrString.split(whereSeparator: \.isNewline).map(String.init), status: r.status))
        }
        guard let out = SystemBuilder.outPath(fromBuildOutput: r.stdoutString) else {
            throw StageError(message: "nix build printed no store path")
        }
        systemPath = out
        ctx.progress(1, "built \(out)")
        return .ok(p.buildsExpected == 0 ? "\(out) (already built)" : "\(out) (\(p.buildsDone) derivation(s) built)")
    }

    func dryRunBuild(_ ctx: StageContext) async throws -> DeployOutcome {
        if let why = options.nothingToBuild { return .skipped("nothing to build from: \(why)") }
        let argv = options.builder.dryRunArgv(machine: host, machineClass: machine.machineClass)
        let state = NixProgressBox()
        let r = try await ctx.run(argv, logStdout: false, onStderrLine: { line in
            for l in state.consume(line).0 { ctx.log(l) }
        })
        guard r.status == 0 else {
            throw StageError(message: ErrorText.nix(errors: state.value.errors, stderrLines: [], status: r.status))
        }
        let eval = try await ctx.run(options.builder.outPathArgv(machine: host, machineClass: machine.machineClass), logStdout: false)
        guard eval.status == 0, let out = SystemBuilder.outPath(fromEvalOutput: eval.stdoutString) else {
            throw StageError(message: "cannot evaluate the toplevel: " + ErrorText.nix(errors: [], stderrLines: eval.stderrString.split(whereSeparator: \.isNewline).map(String.init), status: eval.status))
        }
        systemPath = out
        let toBuild = (ctx.deployer.stageLogs[.build] ?? []).filter { $0.hasPrefix("  /nix/store/") && $0.hasSuffix(".drv") }.count
        return .ok(toBuild == 0 ? "\(out) is already built" : "would build \(toBuild) derivation(s) for \(out)")
    }

    /// The closure of the system with its NAR sizes, from the local store.
    private func closure(_ ctx: StageContext, of path: String) async throws -> [(path: String, size: Int64)]? {
        let r = try await ctx.run(["nix", "--extra-experimental-features", "nix-command", "path-info", "-r", "--json", path],
                                  logStdout: false, onStderrLine: { _ in })
        guard r.status == 0, let json = try? JSONParser.parse(r.stdout), let arr = json.arrayValue else { return nil }
        return arr.compactMap { o in
            guard let p = o["path"]?.stringValue else { return nil }
            return (p, Int64(o["narSize"]?.intValue ?? 0))
        }
    }

    /// Copies what the host lacks. Asks the host first (through the master), so an unchanged system
    /// says "nothing to copy" instead of opening a nix session.
    func copy(_ ctx: StageContext, dryRun: Bool) async throws -> DeployOutcome {
        if dryRun, systemPath == nil, options.nothingToBuild != nil { return .skipped("nothing built") }
        if dryRun, let unreachable { return .skipped("host unreachable, cannot tell what it lacks: \(unreachable)") }
        guard let out = systemPath, let target else { throw StageError(message: "nothing was built") }
        guard let paths = try await closure(ctx, of: out) else {
            if dryRun { return .ok("would copy the closure of \(out) (not built yet, size unknown)") }
            throw StageError(message: "cannot list the closure of \(out) (nix path-info failed)")
        }
        let missingResult = try await ctx.remote(["xargs", "-r", "nix-store", "--check-validity", "--print-invalid"],
                                                 stdin: Array((paths.map(\.path).joined(separator: "\n") + "\n").utf8),
                                                 logStdout: false)
        let missing = Set(missingResult.stdoutString.split(whereSeparator: \.isNewline).map(String.init))
        let toCopy = paths.filter { missing.contains($0.path) }
        let bytes = toCopy.reduce(Int64(0)) { $0 + $1.size }
        if toCopy.isEmpty {
            ctx.log("the host already has all \(paths.count) paths of the closure")
            return .ok("nothing to copy (host has all \(paths.count) paths)")
        }
        if dryRun {
            for p in toCopy { ctx.log("would copy \(p.path) (\(ByteCount.format(p.size)))") }
            return .ok("would copy \(toCopy.count) of \(paths.count) paths, \(ByteCount.format(bytes))")
        }
        var env = options.environment ?? ProcessInfo.processInfo.environment
        do { env["NIX_SSHOPTS"] = try SSHCommand.nixSSHOpts(target, ssh) } catch { throw StageError(message: "\(error)") }
        ctx.progress(0, "copying \(toCopy.count) paths, \(ByteCount.format(bytes))")
        let state = NixProgressBox()
        let argv = ["nix", "--extra-experimental-features", "nix-command", "copy", "--no-check-sigs",
                    "--log-format", "internal-json", "-v", "--to", target.storeURI, out]
        let r = try await ctx.run(argv, environment: env, logStdout: false, viaMaster: true, onStderrLine: { line in
            let (lines, changed, p) = state.consume(line)
            for l in lines { ctx.log(l) }
            if changed, p.copiesExpected > 0 { ctx.progress(p.copyFraction, "copied \(p.copiesDone)/\(p.copiesExpected) paths") }
        })
        guard r.status == 0 else {
            throw StageError(message: ErrorText.nix(errors: state.value.errors, stderrLines: r.stderrString.split(whereSeparator: \.isNewline).map(String.init), status: r.status))
        }
        return .ok("copied \(toCopy.count) paths, \(ByteCount.format(bytes))")
    }

    /// Sets the profile and switches (argv from `ActivationCommands`, one tested function per class).
    func activate(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let out = systemPath, let facts else { throw StageError(message: "nothing was built") }
        let steps = ActivationCommands.activation(for: machine.machineClass, system: out, hasSystemd: facts.hasSystemd,
                                                  unitName: ActivationCommands.unitName(machine: host, random: unitSuffix))
        for (i, step) in steps.enumerated() {
            ctx.progress(Double(i) / Double(steps.count), ShellQuote.join(step))
            ctx.log("$ " + ShellQuote.join(step))
            let r = try await ctx.remote(step, check: false)
            if r.status != 0 {
                if r.status == 255, ErrorText.meaningfulLines(r.stderrString).last?.hasPrefix("ssh:") == true {
                    throw StageError(message: ErrorText.ssh(r.stderrString))
                }
                if i == 0 { throw StageError(message: "\(out) is not a \(machine.machineClass == .darwin ? "nix-darwin" : "NixOS") system (\(step.joined(separator: " ")) failed)") }
                throw StageError(message: ErrorText.command(step, status: r.status, stderr: r.stderrString))
            }
        }
        return .ok("switched to \(out)")
    }

    func dryRunActivate(_ ctx: StageContext) async throws -> DeployOutcome {
        if let unreachable { return .skipped("host unreachable, its running system is unknown: \(unreachable)") }
        if systemPath == nil, options.nothingToBuild != nil { return .skipped("nothing built") }
        guard let out = systemPath, let facts else { throw StageError(message: "nothing was evaluated") }
        if facts.currentSystem == out { return .ok("already running \(out)") }
        let steps = ActivationCommands.activation(for: machine.machineClass, system: out, hasSystemd: facts.hasSystemd,
                                                  unitName: ActivationCommands.unitName(machine: host, random: unitSuffix))
        for s in steps { ctx.log("would run: " + ShellQuote.join(s)) }
        return .ok("would switch \(facts.currentSystem ?? "(nothing)") → \(out)")
    }

    func rollback(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let facts else { throw StageError(message: "not connected") }
        guard let gen = facts.generation else { throw StageError(message: "the host has no system profile to roll back") }
        guard gen > 1 else { throw StageError(message: "generation \(gen) is the first; there is nothing to roll back to") }
        let steps = ActivationCommands.rollback(for: machine.machineClass, hasSystemd: facts.hasSystemd,
                                                unitName: ActivationCommands.unitName(machine: host, random: unitSuffix))
        for step in steps {
            ctx.log("$ " + ShellQuote.join(step))
            try await ctx.remote(step)
        }
        return .ok("profile moved back from generation \(gen)")
    }

    /// The running system is the one we built (or, after a rollback, the one the profile points to).
    func verify(_ ctx: StageContext) async throws -> DeployOutcome {
        let r = try await ctx.remote(RemoteFacts.probeArgv, logStdout: false)
        guard let now = RemoteFacts.parse(r.stdoutString) else { throw StageError(message: "unexpected answer from the host") }
        generation = now.generation
        let expected = options.kind == .rollback ? now.profileSystem : systemPath
        if options.kind == .rollback { systemPath = now.profileSystem }
        guard let expected, now.currentSystem == expected else {
            throw StageError(message: "/run/current-system is \(now.currentSystem ?? "missing"), expected \(expected ?? "the profile's system")")
        }
        ctx.log("/run/current-system -> \(expected)")
        return .ok("/run/current-system is \(expected)" + (now.generation.map { " (generation \($0))" } ?? ""))
    }
}

/// NixProgress shared between the reader thread and the stage; reports whether the one-line
/// summary changed, so progress events are not sent for every bookkeeping record.
final class NixProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var progress = NixProgress()
    private var lastSummary = ""

    func consume(_ line: String) -> ([String], Bool, NixProgress) {
        lock.withLock {
            let lines = progress.consume(line)
            let summary = progress.buildSummary + "|\(progress.copiesDone)/\(progress.copiesExpected)"
            let changed = summary != lastSummary
            lastSummary = summary
            return (lines, changed, progress)
        }
    }

    var value: NixProgress { lock.withLock { progress } }
}
