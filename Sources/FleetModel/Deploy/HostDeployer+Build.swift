import Foundation

/// The build and copy stages, by where the machine builds (`BuildPlacement`, clan's order):
/// - local: build here (shared `BuildBatch` or alone), copy the closure to the target;
/// - on the target (clan's default): evaluate the derivation here, copy its closure to the target
///   through the master, build it there with the target's nix (`--log-format internal-json`, folded
///   into progress as locally); nothing to copy afterwards;
/// - on a build host: the same on the build host, which then copies the system to the target
///   (clan `_copy_closure`: `nix copy --to ssh-ng://target` run on the build host).
/// nix-darwin machines upload the flake source to the target; darwin-rebuild builds there.
extension HostDeployer {
    func build(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let placement else { throw StageError(message: "not resolved") }
        if machine.machineClass == .darwin { return try await uploadDarwinSource(ctx) }
        switch placement.kind {
        case .local: return try await buildLocally(ctx)
        case .target:
            guard let target else { throw StageError(message: "no target resolved") }
            return try await buildRemotely(ctx, on: target, label: "on the target \(target.description)")
        case .host:
            guard let b = buildHost else { throw StageError(message: "no build host resolved") }
            return try await buildRemotely(ctx, on: b, label: "on the build host \(b.description)")
        }
    }

    /// Builds the toplevel here, folding nix's internal-json log into progress events.
    private func buildLocally(_ ctx: StageContext) async throws -> DeployOutcome {
        if let batch, batch.covers(machine) {
            if let out = await batch.outPath(for: host, ctx) {
                systemPath = out
                ctx.progress(1, "built \(out)")
                return .ok("\(out) (built locally with the other hosts)")
            }
            try Task.checkCancellation()
            ctx.log("the shared build failed; building \(host) alone")
        }
        let argv = options.builder.buildArgv(machine: host, machineClass: machine.machineClass, options: options.buildNixOptions)
        let state = NixProgressBox()
        let r = try await ctx.run(argv, logStdout: false, onStderrLine: Self.foldBuildLog(state, ctx))
        let out = try Self.builtPath(r, state)
        systemPath = out
        ctx.progress(1, "built \(out)")
        let built = max(state.value.buildsDone, state.buildsStarted)
        return .ok(built == 0 ? "\(out) (already built, locally)" : "\(out) (\(built) derivation(s) built locally)")
    }

    /// Evaluates the derivation here, copies its closure to `host` and builds it there.
    private func buildRemotely(_ ctx: StageContext, on host: SSHTarget, label: String) async throws -> DeployOutcome {
        ctx.progress(nil, "evaluating")
        let drv: String
        if let shared = await derivations?.drvPath(for: self.host) {
            drv = shared
        } else {
            try Task.checkCancellation()
            let eval = try await ctx.run(options.builder.drvPathArgv(machine: self.host, machineClass: machine.machineClass), logStdout: false)
            guard eval.status == 0, let path = Self.storePath(eval.stdoutString), path.hasSuffix(".drv") else {
                throw StageError(message: "cannot evaluate the toplevel's derivation: " + ErrorText.nix(errors: [], stderrLines: Self.lines(eval.stderrString), status: eval.status))
            }
            drv = path
        }
        ctx.log("derivation \(drv)")
        ctx.progress(nil, "copying the derivations \(label)")
        let uploads = masters.uploads(host)
        try await uploads.acquire()
        do {
            try await nixCopy(ctx, to: host, extraArguments: ["--derivation"], path: drv, what: "derivations")
            await uploads.release()
        } catch {
            await uploads.release()
            throw error
        }
        ctx.progress(0, "building \(label)")
        let state = NixProgressBox()
        let buildArgv = SystemBuilder.remoteBuildArgv(drvPath: drv, options: options.buildNixOptions)
        // On the target itself clan builds as root (`build_host = target_host_root`: `sudo -A` with
        // its askpass proxy for a non-root user, not `--use-remote-sudo` — clan_lib/machines/
        // update.py:640-646), the derivations having been copied as the ssh user (clan's
        // `upload_sources` to the non-root host); a separate build host builds as its ssh user.
        let r: ProcessResult
        if host == target {
            r = try await ctx.remote(buildArgv, check: false, logStdout: false, asRoot: true, echo: true, onStderrLine: Self.foldBuildLog(state, ctx))
        } else {
            ctx.log("$ " + ShellQuote.join(buildArgv) + "   (on \(host.description))")
            r = try await ctx.ssh(host, buildArgv, check: false, logStdout: false, onStderrLine: Self.foldBuildLog(state, ctx))
        }
        if r.status == 255, state.value.errors.isEmpty, ErrorText.meaningfulLines(r.stderrString).last?.hasPrefix("ssh:") == true {
            throw StageError(message: ErrorText.ssh(r.stderrString))
        }
        let out = try Self.builtPath(r, state)
        systemPath = out
        ctx.progress(1, "built \(out)")
        let built = max(state.value.buildsDone, state.buildsStarted)
        return .ok(built == 0 ? "\(out) (already built, \(label))" : "\(out) (\(built) derivation(s) built \(label))")
    }

    static func foldBuildLog(_ state: NixProgressBox, _ ctx: StageContext) -> @Sendable (String) -> Void {
        { line in
            let (lines, changed, p) = state.consume(line)
            for l in lines { ctx.log(l) }
            if changed { ctx.progress(p.buildFraction, p.buildSummary) }
        }
    }

    static func builtPath(_ r: ProcessResult, _ state: NixProgressBox) throws -> String {
        guard r.status == 0 else {
            throw StageError(message: ErrorText.nix(errors: state.value.errors, stderrLines: lines(r.stderrString), status: r.status))
        }
        guard let out = SystemBuilder.outPath(fromBuildOutput: r.stdoutString) else {
            throw StageError(message: "nix build printed no store path")
        }
        return out
    }

    static func lines(_ s: String) -> [String] { s.split(whereSeparator: \.isNewline).map(String.init) }

    static func storePath(_ s: String) -> String? {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.hasPrefix("/nix/store/") ? t : nil
    }

    /// `nix copy --no-check-sigs --to ssh-ng://host PATH` from here, riding on host's master.
    private func nixCopy(_ ctx: StageContext, to host: SSHTarget, extraArguments: [String] = [], storeURI: String? = nil,
                         path: String, what: String) async throws {
        var env = options.environment ?? ProcessInfo.processInfo.environment
        do { env["NIX_SSHOPTS"] = try SSHCommand.nixSSHOpts(host, ssh) } catch { throw StageError(message: "\(error)") }
        let state = NixProgressBox()
        let argv = ["nix", "--extra-experimental-features", "nix-command", "copy", "--no-check-sigs"] + extraArguments
            + ["--log-format", "internal-json", "-v", "--to", storeURI ?? host.storeURI, path]
        let r = try await ctx.run(argv, environment: env, logStdout: false, viaMaster: true, onStderrLine: { line in
            let (lines, changed, p) = state.consume(line)
            for l in lines { ctx.log(l) }
            if changed, p.copiesExpected > 0 { ctx.progress(p.copyFraction, "copied \(p.copiesDone)/\(p.copiesExpected) \(what)") }
        })
        guard r.status == 0 else {
            throw StageError(message: "copying the \(what) to \(host.description) failed: "
                             + ErrorText.nix(errors: state.value.errors, stderrLines: Self.lines(r.stderrString), status: r.status))
        }
    }

    func dryRunBuild(_ ctx: StageContext) async throws -> DeployOutcome {
        let whereText = placement.map { " \($0.label) (\($0.source == "default" ? "clan's default" : $0.source))" } ?? ""
        if machine.machineClass == .darwin {
            if let why = options.nothingToBuild { return .skipped("nothing to build from: \(why); darwin-rebuild would build on the target") }
            if let ref = options.builder.flakeReference,
               let meta = try? await ctx.run(SystemBuilder.flakeMetadataArgv(ref), logStdout: false), meta.status == 0,
               let path = (try? JSONParser.parse(meta.stdout))?["path"]?.stringValue {
                darwinFlakePath = path
            }
            return .ok("darwin-rebuild would build on the target from the uploaded flake source \(darwinFlakePath ?? "")")
        }
        if let why = options.nothingToBuild { return .skipped("nothing to build from: \(why); would build" + whereText) }
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
            throw StageError(message: "cannot evaluate the toplevel: " + ErrorText.nix(errors: [], stderrLines: Self.lines(eval.stderrString), status: eval.status))
        }
        systemPath = out
        let toBuild = (ctx.deployer.stageLogs[.build] ?? []).filter { $0.hasPrefix("  /nix/store/") && $0.hasSuffix(".drv") }.count
        return .ok((toBuild == 0 ? "\(out) is already built here" : "would build \(toBuild) derivation(s) for \(out)") + "; builds" + whereText)
    }

    /// The closure of the system with its NAR sizes, from the local store; nil when it is not there.
    func closure(_ ctx: StageContext, of path: String) async throws -> [(path: String, size: Int64)]? {
        let r = try await ctx.run(ClosureDiff.pathInfoArgv(path), logStdout: false, onStderrLine: { _ in })
        guard r.status == 0, let infos = ClosureDiff.pathInfos(json: r.stdout) else { return nil }
        return infos.map { ($0.path, $0.narSize) }
    }

    func copy(_ ctx: StageContext, dryRun: Bool) async throws -> DeployOutcome {
        if machine.machineClass == .darwin { return .skipped("darwin-rebuild builds on the target") }
        if dryRun, systemPath == nil, options.nothingToBuild != nil { return .skipped("nothing built") }
        if dryRun, let unreachable { return .skipped("host unreachable, cannot tell what it lacks: \(unreachable)") }
        if localTarget { return .skipped("the target is this machine: the system is in the local store") }
        switch placement?.kind {
        case .target?: return .skipped("built on the target: nothing to copy")
        case .host?:
            if dryRun { return .ok("the build host \(buildHost?.description ?? "?") would copy the system to the target") }
            return try await copyFromBuildHost(ctx)
        default: return try await copyFromHere(ctx, dryRun: dryRun)
        }
    }

    /// clan `_copy_closure`: the build host runs `nix copy --to ssh-ng://target --no-check-sigs`
    /// with NIX_SSHOPTS for the target (its own ssh, not our master: clan `control_master=False`).
    /// The build host needs credentials for the target (its own key, or deploy.forwardAgent).
    private func copyFromBuildHost(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let out = systemPath, let target, let b = buildHost else { throw StageError(message: "nothing was built") }
        let opts: String
        do { opts = try SSHCommand.nixSSHOpts(target, ssh, master: false) } catch { throw StageError(message: "\(error)") }
        let argv = ["env", "NIX_SSHOPTS=" + opts] + SystemBuilder.nix
            + ["copy", "--no-check-sigs", "--log-format", "internal-json", "-v", "--to", target.storeURI, out]
        ctx.progress(0, "\(b.description) copies the system to \(target.description)")
        let state = NixProgressBox()
        let r = try await ctx.ssh(b, argv, check: false, logStdout: false, onStderrLine: { line in
            let (lines, changed, p) = state.consume(line)
            for l in lines { ctx.log(l) }
            if changed, p.copiesExpected > 0 { ctx.progress(p.copyFraction, "copied \(p.copiesDone)/\(p.copiesExpected) paths") }
        })
        guard r.status == 0 else {
            var msg = "failed to copy closure to \(target.description) from the build host \(b.description): "
                + ErrorText.nix(errors: state.value.errors, stderrLines: Self.lines(r.stderrString), status: r.status)
            if r.stderrString.contains("Permission denied (publickey") || r.stderrString.contains("Host key verification failed") {
                msg += " (the build host opens its own ssh connection to the target: authorize a key of \(b.description) on the target, or set deploy.forwardAgent)"
            }
            throw StageError(message: msg)
        }
        let p = state.value
        return .ok("copied from the build host \(b.description)" + (p.copiesExpected > 0 ? ": \(p.copiesDone) path(s)" : ""))
    }

    /// Copies what the host lacks. Asks the host first (through the master), so an unchanged system
    /// says "nothing to copy" instead of opening a nix session.
    private func copyFromHere(_ ctx: StageContext, dryRun: Bool) async throws -> DeployOutcome {
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
        ctx.progress(0, "copying \(toCopy.count) paths, \(ByteCount.format(bytes))")
        try await nixCopy(ctx, to: target, path: out, what: "paths")
        return .ok("copied \(toCopy.count) paths, \(ByteCount.format(bytes))")
    }

    // MARK: - nix-darwin

    /// clan `upload_sources` for darwin (clan_lib/machines/update.py:180-272): the flake's store
    /// path goes to the target over `ssh-ng://…?remote-program=bash -lc 'exec nix-daemon --stdio'`
    /// (nix is not on a non-login PATH on macOS).
    private func uploadDarwinSource(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let ref = options.builder.flakeReference else {
            throw StageError(message: "a nix-darwin machine deploys with darwin-rebuild from a flake; this deploy builds from a nix expression")
        }
        guard let target else { throw StageError(message: "no target resolved") }
        let meta = try await ctx.run(SystemBuilder.flakeMetadataArgv(ref), logStdout: false)
        guard meta.status == 0, let json = try? JSONParser.parse(meta.stdout), let path = json["path"]?.stringValue else {
            throw StageError(message: "nix flake metadata \(ref) failed: " + (ErrorText.meaningfulLines(meta.stderrString).last ?? "exit \(meta.status)"))
        }
        if localTarget {
            darwinFlakePath = path
            return .ok("flake source \(path) is local; darwin-rebuild builds here")
        }
        ctx.progress(nil, "uploading the flake source to \(target.description)")
        try await nixCopy(ctx, to: target, storeURI: Self.darwinStoreURI(target), path: path, what: "flake source")
        darwinFlakePath = path
        return .ok("uploaded the flake source \(path); darwin-rebuild builds on the target")
    }

    /// `ssh-ng://user@host?remote-program=bash -lc 'exec nix-daemon --stdio'` (clan `_remote_url`).
    static func darwinStoreURI(_ target: SSHTarget) -> String {
        target.storeURI + "?remote-program=bash -lc 'exec nix-daemon --stdio'"
    }

    func activateDarwin(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let flake = darwinFlakePath else { throw StageError(message: "the flake source was not uploaded") }
        let argv = ActivationCommands.darwinRebuild(machine: host, flakeStorePath: flake, nixOptions: options.buildNixOptions)
        try await ctx.remote(argv, asRoot: true, echo: true)
        let now = try await ctx.remote(ActivationCommands.readCurrentSystem, check: false, logStdout: false)
        systemPath = Self.storePath(now.stdoutString)
        return .ok("darwin-rebuild switch done" + (systemPath.map { ": running \($0)" } ?? ""))
    }
}
