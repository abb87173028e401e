import Foundation
import Synchronization

/// The stage bodies: what each stage runs (mirrors `clan machines update`, clan-formats.md §3.1).
extension HostDeployer {
    /// clan's `get_best_remote` (clan_lib/network/network.py:211-320): `--target`, inventory
    /// deploy.targetHost, the exported networks by priority — each really probed, the first that
    /// answers wins —, then the machine config's targetHost; else clan's error. Then where it builds.
    func resolve(_ ctx: StageContext) async throws -> DeployOutcome {
        if machine.machineClass == .darwin, options.specialisation != nil, options.kind != .rollback {
            throw StageError(message: "--specialisation is not supported for darwin machine \(host)")   // clan's ClanError
        }
        var chosen: DeployTarget?
        var tried: [String] = []
        for c in options.targets(for: machine) {
            if c.needsProbe {
                if await TargetProbe.sshReachable(address: c.address, timeout: min(options.probeTimeout, ctx.remaining)) {
                    ctx.log("\(c.address) (\(c.sourceLabel)): reachable")
                    chosen = c
                    break
                }
                ctx.log("\(c.address) (\(c.sourceLabel)): not reachable")
                tried.append("\(c.address) via \(c.sourceLabel)")
                continue
            }
            chosen = c
            break
        }
        try Task.checkCancellation()
        guard let chosen else {
            // A dry run still says where it would build and how it would activate.
            let plan = DeployPlan(target: "none", targetSource: "no target", build: options.buildPlacement(for: machine),
                                  activation: ActivationCommands.plan(for: machine.machineClass))
            placement = plan.build
            emit(.resolve, .resolved(plan))
            ctx.log(plan.summary)
            var msg = "Could not find any way to connect to machine '\(host)'. No targetHost configured and machine not reachable via any network."
            if !tried.isEmpty { msg += " Tried: " + tried.joined(separator: ", ") + "." }
            msg += " Set inventory.machines.\(host).deploy.targetHost or pass --target \(host)=user@host."
            throw StageError(message: msg)
        }
        if chosen.address == "localhost" {
            localTarget = true
            target = SSHTarget(user: "root", host: "localhost")
        } else {
            do {
                target = try SSHTarget.parse(chosen.address)
            } catch let e as SSHTarget.ParseError {
                throw StageError(message: "\(e.description) (from \(chosen.sourceLabel))")
            }
        }
        var p = options.buildPlacement(for: machine)
        if case .host(let addr) = p.kind {
            do {
                let b = try SSHTarget.parse(addr)
                if b == target { p.kind = .target } else { buildHost = b }
            } catch let e as SSHTarget.ParseError {
                throw StageError(message: "build host: \(e.description) (from \(p.source))")
            }
        }
        if localTarget, p.kind == .target { p.kind = .local }
        placement = p
        if let target, !localTarget { masters.retain(target) }
        if let buildHost { masters.retain(buildHost) }
        let where_ = localTarget ? "localhost" : target?.description ?? chosen.address
        let plan = DeployPlan(target: where_, targetSource: chosen.sourceLabel, build: p,
                              activation: ActivationCommands.plan(for: machine.machineClass))
        emit(.resolve, .resolved(plan))
        ctx.log(plan.summary)
        return .ok("\(where_) (\(chosen.sourceLabel)); builds \(p.label); activates with \(plan.activation)")
    }

    /// Opens the ControlMaster (the only ssh handshake of the run) and learns the host's facts.
    func connect(_ ctx: StageContext) async throws -> DeployOutcome {
        // A dry run goes on without a target (resolve failed): nothing to connect to.
        if target == nil, !localTarget, let unreachable { return .skipped("no target: \(unreachable)") }
        connectAttempted = true
        var r = try await ctx.remote(RemoteFacts.probeArgv, check: false, logStdout: false)
        if r.status == 255, options.hostKeyPolicy == .ask, HostKeyCheck.isUnknownHost(stderr: r.stderrString) {
            try await askHostKey(ctx)
            r = try await ctx.remote(RemoteFacts.probeArgv, check: false, logStdout: false)
        }
        if r.status == 255 { throw StageError(message: ErrorText.ssh(r.stderrString)) }
        if r.status != 0 { throw StageError(message: ErrorText.command(RemoteFacts.probeArgv, status: r.status, stderr: r.stderrString)) }
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

    /// The provider's files, moved from the run's upload directory to the machine's own
    /// (`clan.core.vars.sops.secretUploadDirectory`) when that differs.
    private func secrets(_ ctx: StageContext) async throws -> [UploadSecret] {
        guard let provider = options.secretsProvider else { return [] }
        var list = try await provider(machine)
        setSecrets(list.map(\.bytes))
        let from = options.secretUploadDirectory, to = options.secretUploadDirectory(for: machine)
        if from != to {
            for i in list.indices where list[i].remotePath.hasPrefix(from + "/") {
                list[i].remotePath = to + list[i].remotePath.dropFirst(from.count)
            }
        }
        return list
    }

    func uploadSecrets(_ ctx: StageContext) async throws -> DeployOutcome {
        if let varsRun {
            switch await varsRun.result() {
            case .success(let o): for l in o.lines { ctx.log("vars: " + l) }
            case .failure(let e as DeployVars.Migrated): throw StageStop(message: e.description)
            case .failure(let e): throw StageError(message: "vars: \(e)")
            }
            try Task.checkCancellation()
        }
        let list = try await secrets(ctx)
        if list.isEmpty { return .skipped("no secrets to upload") }
        let plan: SecretUploadPlan
        do { plan = try SecretUploadPlan(secrets: list, directory: options.secretUploadDirectory(for: machine)) } catch {
            throw StageError(message: "\(error)")
        }
        ctx.progress(nil, "uploading \(plan.fileCount) file(s) to \(plan.directory)")
        try await ctx.remote(plan.remoteArgv, stdin: plan.archive, asRoot: true)
        return .ok("uploaded \(plan.fileCount) file(s) to \(plan.directory)")
    }

    func dryRunSecrets(_ ctx: StageContext) async throws -> DeployOutcome {
        let list = try await secrets(ctx)
        if list.isEmpty { return .skipped("no secrets to upload") }
        for s in list { ctx.log("would upload \(s.remotePath) (mode \(String(SecretUploadPlan.fileMode, radix: 8)))") }
        return .ok("would wipe \(options.secretUploadDirectory(for: machine)) and upload \(list.count) file(s)")
    }

    /// clan `_nixos_activate` (clan_lib/machines/update.py:376-552): refuse what is not a NixOS
    /// toplevel, set the profile, `switch-to-configuration boot` (the new generation is the boot
    /// default even if the live switch fails), then `switch`. A switch blocked by inhibitors means
    /// "reboot required"; any other failure is retried once, then accepted if /run/current-system
    /// already is the new system. nix-darwin: `darwin-rebuild switch` on the target.
    func activate(_ ctx: StageContext) async throws -> DeployOutcome {
        if machine.machineClass == .darwin { return try await activateDarwin(ctx) }
        guard let out = systemPath, let facts else { throw StageError(message: "nothing was built") }
        let prepare = ActivationCommands.nixosPrepare(system: out)
        for (i, step) in prepare.enumerated() {
            ctx.progress(Double(i) / 4, ShellQuote.join(step))
            let r = try await ctx.remote(step, check: false, asRoot: true, echo: true)
            if r.status != 0 {
                if r.status == 255, !localTarget { throw StageError(message: ErrorText.ssh(r.stderrString)) }
                if i == 0 { throw StageError(message: "The build output at \(out) does not look like a valid NixOS system configuration (missing nixos-version). Refusing to activate.") }
                throw StageError(message: ErrorText.command(step, status: r.status, stderr: r.stderrString))
            }
        }
        // A specialisation is its own toplevel (a link in the system): /run/current-system becomes it.
        var running = out
        if let s = options.specialisation {
            let r = try await ctx.remote(["readlink", "-f", out + "/specialisation/" + s], check: false, logStdout: false)
            let path = r.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)
            guard r.status == 0, path.hasPrefix("/nix/store/") else {
                throw StageError(message: "\(out) has no specialisation '\(s)' (--specialisation)")
            }
            running = path
        }
        activatedPath = running
        func switchTo(_ action: String, attempt: Int = 0) async throws -> ProcessResult {
            let unit = ActivationCommands.unitName(action: action, machine: host, random: unitSuffix + (attempt > 0 ? "r\(attempt)" : ""))
            let argv = ActivationCommands.nixosSwitch(system: out, action: action, hasSystemd: facts.hasSystemd, unitName: unit,
                                                      noCheck: options.noCheck, specialisation: options.specialisation)
            return try await ctx.remote(argv, check: false, asRoot: true, echo: true)
        }
        ctx.progress(0.5, "switch-to-configuration boot")
        let boot = try await switchTo("boot")
        if boot.status != 0 {
            if boot.status == 255, !localTarget, ErrorText.meaningfulLines(boot.stderrString).last?.hasPrefix("ssh:") == true {
                throw StageError(message: ErrorText.ssh(boot.stderrString))
            }
            throw StageError(message: "switch-to-configuration boot failed on '\(host)' (exit code \(boot.status)): \(ErrorText.meaningfulLines(boot.stderrString).last ?? "")")
        }
        ctx.progress(0.75, "switch-to-configuration switch")
        let sw = try await switchTo("switch")
        if sw.status == 0 { return .ok("switched to \(out) (boot default and running)") }
        if ActivationCommands.blockedByInhibitors(sw.stdoutString + sw.stderrString) {
            throw StageError(message: "reboot required: live-switching '\(host)' was blocked by switch inhibitors (critical system components changed). The new configuration is registered for the next boot; reboot '\(host)' to complete the update, or re-run with --no-check to force a live switch.")
        }
        ctx.log("switch-to-configuration switch returned \(sw.status); retrying once")
        let retry = try await switchTo("switch", attempt: 1)
        if retry.status == 0 { return .ok("switched to \(out) (on the second attempt)") }
        let now = try await ctx.remote(ActivationCommands.readCurrentSystem, check: false, logStdout: false)
        if now.status == 0, now.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines) == running {
            ctx.log("the host already runs \(running); activation succeeded")
            return .ok("switched to \(out) (the switch reported exit \(retry.status), but the host runs it)")
        }
        throw StageError(message: "switch-to-configuration switch failed on '\(host)' (exit code \(retry.status)): \(ErrorText.meaningfulLines(retry.stderrString).last ?? ""). \(out) is the boot default (boot succeeded); it runs after a reboot.")
    }

    func dryRunActivate(_ ctx: StageContext) async throws -> DeployOutcome {
        // darwin-rebuild's argv does not depend on the host's state: shown even without a target.
        if machine.machineClass == .darwin {
            let argv = ActivationCommands.darwinRebuild(machine: host, flakeStorePath: darwinFlakePath ?? "<flake store path>",
                                                        nixOptions: options.buildNixOptions)
            ctx.log("would run on the target: " + ShellQuote.join(argv))
            if let unreachable { return .ok("would run darwin-rebuild switch on the target (host not reached: \(unreachable))") }
            return .ok("would run darwin-rebuild switch on the target")
        }
        if let unreachable {
            let steps = ActivationCommands.plan(for: machine.machineClass)
            return .skipped("would activate with \(steps); host not reached, its running system is unknown: \(unreachable)")
        }
        if systemPath == nil, options.nothingToBuild != nil { return .skipped("nothing built") }
        guard let out = systemPath, let facts else { throw StageError(message: "nothing was evaluated") }
        if facts.currentSystem == out { return .ok("already running \(out)") }
        let steps = ActivationCommands.nixos(system: out, hasSystemd: facts.hasSystemd, unitSuffix: unitSuffix, machine: host,
                                             noCheck: options.noCheck, specialisation: options.specialisation)
        for s in steps { ctx.log("would run: " + ShellQuote.join(s)) }
        var message = "would switch \(facts.currentSystem ?? "(nothing)") → \(out) (switch-to-configuration boot, then switch)"
        if let current = facts.currentSystem {
            packageChanges = try await packageChanges(ctx, from: current, to: out)
            message += "; " + (packageChanges.map { "\($0.count) package change\($0.count == 1 ? "" : "s")" } ?? "package changes known once built")
        }
        return .ok(message)
    }

    /// What `nix store diff-closures RUNNING NEW` prints (as nvd/nh users expect before a switch),
    /// without copying anything: the running closure is listed on the target, the new one here or,
    /// when it was built there, on the target (`ClosureDiff`). nil when the new system is built
    /// nowhere yet — a dry run builds nothing, and the runtime closure is only known once built.
    func packageChanges(_ ctx: StageContext, from current: String, to new: String) async throws -> [String]? {
        func remoteInfos(_ path: String) async throws -> [ClosureDiff.PathInfo]? {
            // An invalid path is an answer here ("not built there"), not an error for the log.
            let r = try await ctx.remote(ClosureDiff.pathInfoArgv(path), check: false, logStdout: false, onStderrLine: { _ in })
            return r.status == 0 ? ClosureDiff.pathInfos(json: r.stdout) : nil
        }
        guard let before = try await remoteInfos(current) else {
            ctx.log("package changes: cannot list the running system's closure on the host")
            return nil
        }
        var after = try await closure(ctx, of: new).map { $0.map { ClosureDiff.PathInfo(path: $0.path, narSize: $0.size) } }
        if after == nil, !localTarget { after = try await remoteInfos(new) }
        guard let after else {
            ctx.log("package changes: \(new) is not built yet (here or on the host); they show once it is")
            return nil
        }
        let lines = ClosureDiff.lines(before: before, after: after)
        ctx.log("package changes (nix store diff-closures, running → new):")
        for l in lines { ctx.log("  " + l) }
        if lines.isEmpty { ctx.log("  none") }
        return lines
    }

    func rollback(_ ctx: StageContext) async throws -> DeployOutcome {
        guard let facts else { throw StageError(message: "not connected") }
        guard let gen = facts.generation else { throw StageError(message: "the host has no system profile to roll back") }
        guard gen > 1 else { throw StageError(message: "generation \(gen) is the first; there is nothing to roll back to") }
        let steps = ActivationCommands.rollback(for: machine.machineClass, hasSystemd: facts.hasSystemd,
                                                unitName: ActivationCommands.unitName(machine: host, random: unitSuffix))
        for step in steps {
            try await ctx.remote(step, asRoot: true, echo: true)
        }
        return .ok("profile moved back from generation \(gen)")
    }

    /// The running system is the one we built (or, after a rollback, the one the profile points to).
    func verify(_ ctx: StageContext) async throws -> DeployOutcome {
        let r = try await ctx.remote(RemoteFacts.probeArgv, logStdout: false)
        guard let now = RemoteFacts.parse(r.stdoutString) else { throw StageError(message: "unexpected answer from the host") }
        generation = now.generation
        let expected = options.kind == .rollback ? now.profileSystem : (activatedPath ?? systemPath)
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
final class NixProgressBox: Sendable {
    private struct State {
        var progress = NixProgress()
        var lastSummary = ""
        var started = 0
    }
    private let state = Mutex(State())

    /// `building '…drv'` lines seen: what was built when nix sent no builds-progress result (a
    /// remote `nix build` over ssh ends without one).
    var buildsStarted: Int { state.withLock { $0.started } }

    func consume(_ line: String) -> ([String], Bool, NixProgress) {
        state.withLock { s in
            let lines = s.progress.consume(line)
            s.started += lines.filter { $0.hasPrefix("building '") }.count
            let summary = s.progress.buildSummary + "|\(s.progress.copiesDone)/\(s.progress.copiesExpected)"
            let changed = summary != s.lastSummary
            s.lastSummary = summary
            return (lines, changed, s.progress)
        }
    }

    var value: NixProgress { state.withLock { $0.progress } }
}
