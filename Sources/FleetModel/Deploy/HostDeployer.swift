import Foundation
import Synchronization

/// A stage failed: the message becomes `[host] stage failed: message`.
struct StageError: Error {
    var message: String
    var timedOut = false
}

/// A stage ends the host's run without failing it: the stage and the host end skipped with the
/// message (the zerotier migration, after which clan exits 0 having deployed nothing).
struct StageStop: Error {
    var message: String
}

/// Runs the stages of one host, in order, stopping at the first failure. Events go out as they
/// happen; the log of each stage is kept for history. One instance per host per run.
final class HostDeployer: @unchecked Sendable {
    let machine: Machine
    let options: DeployOptions
    let ssh: SSHSettings
    let runner: ProcessRunner
    let emitEvent: @Sendable (DeployEvent) -> Void
    let eta: @Sendable (String, DeployStage) -> Double?
    let unitSuffix: String
    /// The run's shared build of all machines, when there is one.
    var batch: BuildBatch?
    /// The run's one evaluation of the derivations of every machine that builds elsewhere.
    var derivations: DerivationBatch?
    /// The run's vars generation (before any upload), when there is one.
    var varsRun: DeployVarsRun?
    /// The run's masters shared between hosts (a build host, a target named twice).
    var masters = SharedMasters()

    /// What the stages' reader threads and the stage itself both touch.
    private struct Shared {
        var redactor = Redactor(secrets: [])
        var logs: [DeployStage: [String]] = [:]
        var stageResults: [(stage: DeployStage, outcome: DeployOutcome, seconds: Double)] = []
    }
    private let shared = Mutex(Shared())

    var target: SSHTarget?
    /// The target is the machine fleet runs on (`localhost`): commands run here, without ssh
    /// (clan's `LocalHost`).
    var localTarget = false
    /// Where the system builds (set by resolve) and, for a separate build host, its address. The
    /// build host's master is shared by every target it builds for; the pipeline closes it.
    var placement: BuildPlacement?
    var buildHost: SSHTarget?
    /// nix-darwin: the flake source's store path on the target, handed to darwin-rebuild.
    var darwinFlakePath: String?
    var facts: RemoteFacts?
    var systemPath: String?
    /// What /run/current-system must be after the switch: the system, or its specialisation's.
    var activatedPath: String?
    var generation: Int?
    var connectAttempted = false
    /// A dry run's connect failure: the stages after it report instead of failing.
    var unreachable: String?
    /// Why a stage ended the host's run without failing it (`StageStop`).
    var stopped: String?
    /// A dry run's `nix store diff-closures` lines (nil: the new system is not built anywhere yet).
    var packageChanges: [String]?
    /// The askpass session when the ssh user is not root (started by the first root command).
    var sudo: SudoAskpass?

    init(machine: Machine, options: DeployOptions, ssh: SSHSettings, runner: ProcessRunner, unitSuffix: String,
         eta: @escaping @Sendable (String, DeployStage) -> Double?, emit: @escaping @Sendable (DeployEvent) -> Void) {
        self.machine = machine
        self.options = options
        var perHost = ssh
        perHost.forwardAgent = options.forwardAgent(for: machine)
        self.ssh = perHost
        self.runner = runner
        self.unitSuffix = unitSuffix
        self.eta = eta
        self.emitEvent = emit
    }

    var host: String { machine.name }

    /// The log lines of every stage so far (already redacted).
    var stageLogs: [DeployStage: [String]] { shared.withLock { $0.logs } }

    // MARK: - Running

    func run() async -> HostResult {
        let start = ContinuousClock.now
        let stages = Self.stages(for: options.kind)
        var failure: DeployFailure?
        for s in stages {
            if let f = await runStage(s) {
                // A dry run previews what it can: a host without a target or an unreachable one
                // still gets its secrets, build placement and activation argv shown (the host-side
                // stages then say what they could not check). No target is still a failure of the
                // host, as in a deploy (clan errors for it whatever the network); an unreachable
                // host is not (the dry run shows what it can, the deploy may find it up).
                if options.kind == .dryRun, s == .resolve || s == .connect, !f.cancelled {
                    unreachable = f.message
                    if s == .resolve { failure = f }
                    continue
                }
                failure = failure ?? f
                break
            }
            if stopped != nil { break }
        }
        if let sudo { await sudo.stop(runner: runner, ssh: ssh, environment: options.environment) }
        if let target, !localTarget, masters.release(target), connectAttempted { await closeMaster(target) }
        if let buildHost, masters.release(buildHost) { await closeMaster(buildHost) }
        let seconds = Self.seconds(since: start)
        let outcome: DeployOutcome
        if let failure {
            outcome = .failed(failure)
        } else if let stopped {
            outcome = .skipped(stopped)
        } else {
            outcome = .ok(successMessage())
        }
        return HostResult(host: host, target: target?.description, outcome: outcome, systemPath: systemPath,
                          previousSystem: facts?.currentSystem, generation: generation, seconds: seconds,
                          stages: shared.withLock { $0.stageResults })
    }

    static func stages(for kind: DeployKind) -> [DeployStage] {
        switch kind {
        case .deploy, .dryRun: return DeployStage.allCases
        case .rollback: return [.resolve, .connect, .activate, .verify]
        }
    }

    /// What a dry run's summary says the deploy would do: where it builds and how it activates
    /// (`BuildPlacement.label`, `ActivationCommands.plan`).
    var plannedAction: String {
        if machine.machineClass == .darwin { return "build and activate with darwin-rebuild switch on the target" }
        let built = systemPath.map { " \($0)" } ?? ""
        return "build\(built) \(placement?.label ?? "on the target") and activate with \(ActivationCommands.plan(for: machine.machineClass))"
    }

    private func successMessage() -> String {
        switch options.kind {
        case .deploy:
            let gen = generation.map { " (generation \($0))" } ?? ""
            return "running \(systemPath ?? "?")\(gen)"
        case .rollback:
            return "rolled back to \(systemPath ?? "?")" + (generation.map { " (generation \($0))" } ?? "")
        case .dryRun:
            if let unreachable { return "dry run: host unreachable (\(unreachable)); would \(plannedAction)" }
            if let why = options.nothingToBuild { return "dry run: nothing to build from: \(why); would \(plannedAction)" }
            // The count first: the Deploy screen's LAST column cuts the long store path, not it.
            let changes = packageChanges.map { "\($0.count) package change\($0.count == 1 ? "" : "s"), " } ?? ""
            return "dry run: \(changes)would switch to \(systemPath ?? "?")"
        }
    }

    /// Runs one stage; returns the failure, or nil to go on.
    private func runStage(_ stage: DeployStage) async -> DeployFailure? {
        let start = ContinuousClock.now
        emit(stage, .stageStarted(eta: eta(host, stage)))
        let ctx = StageContext(deployer: self, stage: stage, deadline: start + options.timeout(stage))
        let outcome: DeployOutcome
        do {
            try Task.checkCancellation()
            outcome = try await body(of: stage, ctx)
        } catch is CancellationError {
            outcome = .failed(DeployFailure(host: host, stage: stage, message: "cancelled", cancelled: true))
        } catch let e as StageStop {
            stopped = e.message
            outcome = .skipped(e.message)
        } catch let e as StageError {
            outcome = .failed(DeployFailure(host: host, stage: stage, message: redact(e.message), timedOut: e.timedOut))
        } catch {
            outcome = .failed(DeployFailure(host: host, stage: stage, message: redact("\(error)")))
        }
        let seconds = Self.seconds(since: start)
        shared.withLock { $0.stageResults.append((stage, outcome, seconds)) }
        emit(stage, .stageFinished(outcome, seconds: seconds))
        if case .failed(let f) = outcome { return f }
        return nil
    }

    private func body(of stage: DeployStage, _ ctx: StageContext) async throws -> DeployOutcome {
        switch (options.kind, stage) {
        case (_, .resolve): return try await resolve(ctx)
        case (_, .connect): return try await connect(ctx)
        case (.deploy, .secrets): return try await uploadSecrets(ctx)
        case (.dryRun, .secrets): return try await dryRunSecrets(ctx)
        case (.deploy, .build): return try await build(ctx)
        case (.dryRun, .build): return try await dryRunBuild(ctx)
        case (.deploy, .copy): return try await copy(ctx, dryRun: false)
        case (.dryRun, .copy): return try await copy(ctx, dryRun: true)
        case (.deploy, .activate): return try await activate(ctx)
        case (.dryRun, .activate): return try await dryRunActivate(ctx)
        case (.rollback, .activate): return try await rollback(ctx)
        case (.deploy, .verify), (.rollback, .verify): return try await verify(ctx)
        case (.dryRun, .verify): return .skipped("dry run")
        case (.rollback, _): return .skipped("not part of a rollback")
        }
    }

    // MARK: - Helpers for stages

    func emit(_ stage: DeployStage?, _ kind: DeployEvent.Kind) {
        emitEvent(DeployEvent(host: host, stage: stage, kind: kind))
    }

    func redact(_ s: String) -> String { shared.withLock { $0.redactor }.redact(s) }

    func setSecrets(_ values: [[UInt8]]) { shared.withLock { $0.redactor = Redactor(secrets: values) } }

    func log(_ stage: DeployStage, _ line: String) {
        // ssh ends some lines with \r\n; the reader splits on \n only.
        let clean = redact(line.hasSuffix("\r") ? String(line.dropLast()) : line)
        shared.withLock { $0.logs[stage, default: []].append(clean) }
        emit(stage, .log(clean))
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The sudo session for root commands; nil when the ssh user is root. Started on first use, once
    /// per host and run (clan: `become_root` once per update).
    func rootSession(_ ctx: StageContext) async throws -> SudoAskpass? {
        guard let target, target.user != "root" else { return nil }
        if let sudo { return sudo }
        let s = SudoAskpass(host: host, target: target, interaction: options.interaction)
        sudo = s
        ctx.log("\(target.user) is not root: root commands run through sudo (askpass session)")
        let (path, stderr) = await s.start(runner: runner, ssh: ssh, environment: options.environment,
                                           timeout: min(ctx.remaining, .seconds(30)))
        try Task.checkCancellation()
        guard path != nil else {
            let why = ErrorText.meaningfulLines(stderr).last ?? "no answer"
            throw StageError(message: "cannot start the sudo askpass session on \(host) as \(target.user): \(why)")
        }
        return s
    }

    /// Closes the target's master now (see `StageContext.run`, `viaMaster`), after a timeout or
    /// cancel. A build host's master is shared; the last host using it closes it.
    func closeMasterNow() async {
        if let target, !localTarget { await closeMaster(target) }
    }

    /// `ssh -O exit` — also after a cancel, so it runs outside the (cancelled) task.
    func closeMaster(_ target: SSHTarget) async {
        let spec = ProcessSpec(argv: SSHCommand.closeArgv(target, ssh), environment: options.environment,
                               timeout: .seconds(10))
        let runner = self.runner
        _ = await Task.detached { try? await runner.run(spec) }.value
    }
}

/// What a stage body works with: its deadline, its log, and process runs bounded by the deadline.
struct StageContext {
    let deployer: HostDeployer
    let stage: DeployStage
    let deadline: ContinuousClock.Instant

    func log(_ line: String) { deployer.log(stage, line) }

    func progress(_ fraction: Double?, _ message: String) {
        deployer.emit(stage, .progress(fraction: fraction, message: deployer.redact(message)))
    }

    var remaining: Duration { deadline - ContinuousClock.now }

    /// Runs a local process within the stage's time. Lines go to the log unless handled by the
    /// callbacks. Throws `StageError` on timeout; a non-zero exit is the caller's to judge.
    ///
    /// `viaMaster`: the process talks through the ControlMaster (ssh, or nix with its ssh). A mux
    /// client hands its stdout/stderr to the master, so after a timeout or cancel kills the client
    /// the master still holds our pipes open while the remote command runs on (a hung activation).
    /// Closing the master (`ssh -O exit`) then releases them; the stage has failed anyway.
    func run(_ argv: [String], environment: [String: String]? = nil, stdin: [UInt8]? = nil,
             logStdout: Bool = true, viaMaster: Bool = false,
             onStderrLine: (@Sendable (String) -> Void)? = nil) async throws -> ProcessResult {
        let left = remaining
        guard left > .zero else { throw StageError(message: "timed out after \(timeoutText)", timedOut: true) }
        let spec = ProcessSpec(argv: argv, environment: environment ?? deployer.options.environment, stdin: stdin,
                               timeout: left)
        let d = deployer, s = stage
        let watchdog: Task<Void, Never>? = viaMaster ? Task.detached {
            // After ProcessRunner's own timeout (at `left`) has killed the client.
            do { try await Task.sleep(for: left + .seconds(1)) } catch { return }
            await d.closeMasterNow()
        } : nil
        defer { watchdog?.cancel() }
        let result: ProcessResult
        do {
            result = try await withTaskCancellationHandler {
                try await deployer.runner.stream(spec, onStdoutLine: { line in
                    if logStdout { d.log(s, line) }
                }, onStderrLine: { line in
                    if let onStderrLine { onStderrLine(line) } else { d.log(s, line) }
                })
            } onCancel: {
                if viaMaster { Task.detached { await d.closeMasterNow() } }
            }
        } catch let e as ProcessError {
            throw StageError(message: e.description)
        }
        if result.timedOut { throw StageError(message: "timed out after \(timeoutText)", timedOut: true) }
        return result
    }

    /// Runs `remote` on the host through the master. ssh's own failures (exit 255) and non-zero
    /// exits become `StageError`s unless `check` is false.
    /// On a local target (`localhost`) the argv runs here, without ssh. `asRoot`: through sudo when
    /// the ssh user is not root (clan's `target_host_root`); a sudo refusal is always a `StageError`.
    /// `echo`: log the command as the host runs it (with the sudo prefix), as clan logs `$ cmd`.
    @discardableResult
    func remote(_ remote: [String], stdin: [UInt8]? = nil, check: Bool = true, logStdout: Bool = true,
                asRoot: Bool = false, echo: Bool = false, onStderrLine: (@Sendable (String) -> Void)? = nil) async throws -> ProcessResult {
        if deployer.localTarget {
            if echo { log("$ " + ShellQuote.join(remote)) }
            let r = try await run(remote, stdin: stdin, logStdout: logStdout, onStderrLine: onStderrLine)
            if check, r.status != 0 { throw StageError(message: ErrorText.command(remote, status: r.status, stderr: r.stderrString)) }
            return r
        }
        guard let target = deployer.target else { throw StageError(message: "no target resolved") }
        let sudo = asRoot ? try await deployer.rootSession(self) : nil
        guard let sudo, let path = sudo.scriptPath else {
            if echo { log("$ " + ShellQuote.join(remote)) }
            return try await ssh(target, remote, stdin: stdin, check: check, logStdout: logStdout, onStderrLine: onStderrLine)
        }
        sudo.beginCommand()
        if echo { log("$ " + ShellQuote.join(SudoAskpass.prefix(scriptPath: path) + remote)) }
        let r = try await ssh(target, SudoAskpass.prefix(scriptPath: path) + remote, stdin: stdin, check: false,
                              logStdout: logStdout, onStderrLine: onStderrLine)
        if r.status != 0, let m = sudo.failureMessage(stderr: r.stderrString) { throw StageError(message: m) }
        if check, r.status != 0 {
            if r.status == 255 { throw StageError(message: ErrorText.ssh(r.stderrString)) }
            throw StageError(message: ErrorText.command(remote, status: r.status, stderr: r.stderrString))
        }
        return r
    }

    /// Runs `remote` on `host` through its master (the target, or a build host).
    @discardableResult
    func ssh(_ host: SSHTarget, _ remote: [String], stdin: [UInt8]? = nil, check: Bool = true, logStdout: Bool = true,
             onStderrLine: (@Sendable (String) -> Void)? = nil) async throws -> ProcessResult {
        let r = try await run(SSHCommand.argv(host, deployer.ssh, remote: remote), stdin: stdin, logStdout: logStdout,
                              viaMaster: true, onStderrLine: onStderrLine)
        if check, r.status != 0 {
            if r.status == 255 { throw StageError(message: ErrorText.ssh(r.stderrString)) }
            throw StageError(message: ErrorText.command(remote, status: r.status, stderr: r.stderrString))
        }
        return r
    }

    var timeoutText: String {
        let t = deployer.options.timeout(stage).components.seconds
        return "\(t)s"
    }
}
