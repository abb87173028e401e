import Foundation
import Synchronization

/// What fleet knows about a host right now: can it be reached, what does it run, and is that what
/// the flake builds now (clan-app's `online` / `out_of_sync` badges, which clan never computed —
/// peers.md §4, clan #4748).
public struct HostStatus: Equatable, Sendable {
    public enum Reachability: Equatable, Sendable {
        case reachable(seconds: Double)
        /// ssh failed; the one-line reason.
        case unreachable(String)
        /// No target to try (message says what to set).
        case noTarget(String)
    }

    public var machine: String
    public var target: String?
    public var reachability: Reachability
    /// `/run/current-system` and the profile generation, when reachable.
    public var runningSystem: String?
    public var generation: Int?
    /// The generation a rollback would switch to; nil when there is none (never deployed, or the
    /// current one is the first left).
    public var previousGeneration: Int?
    /// The toplevel the flake evaluates to now; nil when not evaluated or evaluation failed.
    public var flakeSystem: String?
    public var evaluationError: String?
    public var checkedAt: Date

    /// true/false when both sides are known, nil otherwise.
    public var inSync: Bool? {
        guard let r = runningSystem, let f = flakeSystem else { return nil }
        return r == f
    }

    public var isReachable: Bool { if case .reachable = reachability { return true } else { return false } }
}

/// Probes hosts over ssh (one ControlMaster per host, kept between refreshes so a background refresh
/// costs no new handshake while the master persists) and evaluates what the flake would build.
/// Each host is probed at the target the deploy would try first: the `ResolvedTargets` table last
/// given to `retarget` (the one the TARGET column shows), else the options' own
/// (`DeployOptions.targets(for:)`). `close()` ends the masters and removes the socket directory.
public final class StatusProber: @unchecked Sendable {
    private let options: DeployOptions
    private let runner: ProcessRunner
    /// The table from `retarget`, the address each host was last probed at (nil: no target), and
    /// the hosts to probe again because their target changed since.
    private struct Targets {
        var table: ResolvedTargets?
        var probed: [String: String?] = [:]
        var again: Set<String> = []
    }
    private let targets = Mutex(Targets())
    private let wake = Wakeup()
    /// ssh's own settings (closing masters) and the probe's: the same plus `probeKex`.
    private let ssh: SSHSettings
    private let probeSSH: SSHSettings

    public init(options: DeployOptions, runner: ProcessRunner = ProcessRunner(), probeTimeout: Int = 5) throws {
        self.options = options
        self.runner = runner
        ssh = SSHSettings(controlDirectory: try ControlDirectory.create(parent: options.controlDirectoryParent),
                          configFile: options.sshConfigFile, hostKeyPolicy: options.hostKeyPolicy,
                          connectTimeout: probeTimeout, controlPersist: 120,
                          // A master to a host that died must notice and exit, or probes through it hang.
                          extraOptions: ["ServerAliveInterval=\(probeTimeout)", "ServerAliveCountMax=2"] + options.sshExtraOptions)
        var fast = ssh
        fast.extraOptions.insert(Self.probeKex, at: 0)
        probeSSH = fast
    }

    /// The status probe's connection carries only public facts (the running system's store path and
    /// generation), so it prefers the classical curve25519 key exchange: OpenSSH 9.2's default,
    /// sntrup761x25519, spent 0.3–0.4 s of CPU per handshake on the loaded testbed machine (0.65 s vs
    /// 0.25 s per connection), and the first STATUS waits for that handshake. `^` only moves it to the
    /// front of ssh's own list; an ssh that refuses the option (`^` needs OpenSSH 8.7) or a host that
    /// refuses the exchange gets the probe again with ssh's defaults. Deploys keep ssh's order.
    static let probeKex = "KexAlgorithms=^curve25519-sha256"

    static func kexRefused(_ r: ProcessResult) -> Bool {
        r.status == 255 && (r.stderrString.contains("KexAlgorithms") || r.stderrString.contains("no matching key exchange method"))
    }

    /// Where `machine` is probed now (no bookkeeping).
    private func target(of machine: Machine, in t: Targets) -> DeployTarget? {
        if let resolved = t.table?.target(of: machine.name) { return resolved }
        return options.targets(for: machine).first
    }

    /// The target for this probe, noted as the one `machine` was last probed at (under the same lock
    /// as `retarget`, so a probe that started before a retarget is always probed again).
    private func takeTarget(_ machine: Machine) -> DeployTarget? {
        targets.withLock { t in
            let chosen = target(of: machine, in: t)
            t.probed[machine.name] = .some(chosen?.address)
            t.again.remove(machine.name)
            return chosen
        }
    }

    /// The flake's config was (re-)evaluated: probe from now on at `table`'s targets (the TARGET
    /// column's), and at once every host already probed elsewhere (`refreshing` wakes for them).
    public func retarget(_ table: ResolvedTargets) {
        let changed = targets.withLock { t -> Bool in
            t.table = table
            for (m, address) in t.probed where table.machines.contains(m) && table.target(of: m)??.address != address {
                t.again.insert(m)
            }
            return !t.again.isEmpty
        }
        if changed { wake.signal() }
    }

    /// One host: ssh probe and (optionally) evaluation, concurrently.
    public func probe(_ machine: Machine, evaluate: Bool = true) async -> HostStatus {
        async let evaluation: (String?, String?) = evaluate ? flakeSystem(machine) : (nil, nil)
        var status = HostStatus(machine: machine.name, target: nil, reachability: .noTarget(""), runningSystem: nil,
                                generation: nil, flakeSystem: nil, evaluationError: nil, checkedAt: Date())
        if let text = takeTarget(machine)?.address {
            do {
                let target = try SSHTarget.parse(text)
                status.target = target.description
                let start = ContinuousClock.now
                let limit = Duration.seconds(ssh.connectTimeout * 2)
                // A probe through a master to a host that stopped answering: after the timeout kills
                // the client, the master still holds its pipes; closing it releases them.
                let (runner, ssh, env) = (self.runner, self.ssh, options.environment)
                let watchdog = Task.detached {
                    do { try await Task.sleep(for: limit + .seconds(1)) } catch { return }
                    _ = try? await runner.run(ProcessSpec(argv: SSHCommand.closeArgv(target, ssh), environment: env, timeout: .seconds(5)))
                }
                defer { watchdog.cancel() }
                var r = try await runner.run(ProcessSpec(argv: SSHCommand.argv(target, probeSSH, remote: RemoteFacts.probeArgv),
                                                         environment: options.environment, timeout: limit))
                if Self.kexRefused(r) {
                    r = try await runner.run(ProcessSpec(argv: SSHCommand.argv(target, ssh, remote: RemoteFacts.probeArgv),
                                                         environment: options.environment, timeout: limit))
                }
                if r.timedOut {
                    status.reachability = .unreachable("timed out after \(ssh.connectTimeout * 2)s")
                } else if r.status == 0, let facts = RemoteFacts.parse(r.stdoutString) {
                    status.reachability = .reachable(seconds: HostDeployer.seconds(since: start))
                    status.runningSystem = facts.currentSystem
                    status.generation = facts.generation
                    status.previousGeneration = facts.previousGeneration
                } else {
                    status.reachability = .unreachable(r.status == 255 ? ErrorText.ssh(r.stderrString)
                        : ErrorText.command(RemoteFacts.probeArgv, status: r.status, stderr: r.stderrString))
                }
            } catch {
                status.reachability = .unreachable("\(error)")
            }
        } else {
            status.reachability = .noTarget("no target host: set inventory.machines.\(machine.name).deploy.targetHost")
        }
        let (sys, err) = await evaluation
        status.flakeSystem = sys
        status.evaluationError = err
        status.checkedAt = Date()
        return status
    }

    /// A background refresh: yields every host's status as its probe answers, then again every
    /// `interval`, until the consumer stops iterating (or the task is cancelled). The flake is
    /// evaluated on the first round and every `evaluateEvery` rounds after (evaluation takes seconds
    /// on a real flake); until the first evaluation answers, the verdict comes from `cache` (the last
    /// evaluation of an unchanged flake), so the first probe already says in sync / out of sync.
    public func refreshing(_ machines: [Machine], every interval: Duration, evaluateEvery: Int = 5,
                           cache: FlakeSystemCache? = nil) -> AsyncStream<HostStatus> {
        // Machines with a target first: their verdict waits for their evaluation; one without a
        // target shows "no target" whatever the flake says.
        let now = targets.withLock { t in machines.map { target(of: $0, in: t) != nil } }
        let hasTarget = zip(machines, now).filter { $0.1 }.map(\.0)
        let byNeed = hasTarget + zip(machines, now).filter { !$0.1 }.map(\.0)
        return AsyncStream { continuation in
            let task = Task {
                var round = 0
                let key = cache?.fingerprint()
                var lastFlake: [String: String] = key.flatMap { cache?.load(key: $0) } ?? [:]
                var lastError: [String: String] = [:]
                var latest: [String: HostStatus] = [:]
                var roundKey: String?
                // Each evaluation re-yields its host at once, not after the slowest machine's, and
                // goes to the cache at once: the user may quit as soon as STATUS shows.
                func evaluated(_ m: String, _ sys: String?, _ err: String?) {
                    lastFlake[m] = sys
                    lastError[m] = err
                    if let cache {
                        if roundKey == nil { roundKey = cache.fingerprint() }   // after nix may have written flake.lock
                        if let roundKey { cache.store(key: roundKey, systems: lastFlake) }
                    }
                    guard var s = latest[m], s.flakeSystem != sys || s.evaluationError != err else { return }
                    s.flakeSystem = sys
                    s.evaluationError = err
                    latest[m] = s
                    continuation.yield(s)
                }
                // A probe's answer, with the last evaluation's verdict.
                func probed(_ probe: HostStatus) {
                    var s = probe
                    s.flakeSystem = lastFlake[s.machine]
                    s.evaluationError = lastError[s.machine]
                    latest[s.machine] = s
                    continuation.yield(s)
                }
                while !Task.isCancelled {
                    let evaluate = evaluateEvery > 0 && round % evaluateEvery == 0
                    // ssh first, as each host answers. When the cache (the last evaluation of this
                    // very flake) answers for every machine with a target, the evaluation (a nix
                    // process per machine) waits for the probes instead of competing with their
                    // handshakes for the CPU; otherwise it runs beside them, since the verdict needs it.
                    let beside = evaluate && !hasTarget.allSatisfy { lastFlake[$0.name] != nil }
                    roundKey = nil
                    for await update in self.probesAndEvaluations(machines, evaluating: beside ? byNeed : []) {
                        switch update {
                        case .probed(let s):
                            probed(s)
                        case .evaluated(let m, let sys, let err):
                            evaluated(m, sys, err)
                        }
                    }
                    if evaluate && !beside && !Task.isCancelled {
                        for await (m, sys, err) in self.evaluations(byNeed) { evaluated(m, sys, err) }
                    }
                    if Task.isCancelled { break }
                    round += 1
                    // Until the next round, a retarget probes the hosts whose target changed at once.
                    let next = ContinuousClock.now + interval
                    while !Task.isCancelled, ContinuousClock.now < next {
                        await self.wake.wait(until: next)
                        let again = self.targets.withLock { $0.again }
                        if again.isEmpty { continue }
                        for await s in self.probeEach(machines.filter { again.contains($0.name) }) { probed(s) }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    enum Update: Sendable {
        case probed(HostStatus)
        case evaluated(String, String?, String?)
    }

    /// Every host's probe and the evaluations of `evaluating`, side by side, as each answers.
    func probesAndEvaluations(_ machines: [Machine], evaluating: [Machine]) -> AsyncStream<Update> {
        AsyncStream { continuation in
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { for await s in self.probeEach(machines) { continuation.yield(.probed(s)) } }
                    group.addTask { for await (m, sys, err) in self.evaluations(evaluating) { continuation.yield(.evaluated(m, sys, err)) } }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Every host's ssh probe (no evaluation), yielded as each answers, at most `jobs` at once,
    /// started in the given order (a slot is taken before the host's task exists, as in
    /// DeployPipeline; only `jobs` tasks live at a time).
    func probeEach(_ machines: [Machine], jobs: Int = 8) -> AsyncStream<HostStatus> {
        AsyncStream { continuation in
            let task = Task {
                let limiter = AsyncLimiter(jobs)
                await withTaskGroup(of: Void.self) { group in
                    for m in machines {
                        do { try await limiter.acquire() } catch { break }
                        group.addTask {
                            continuation.yield(await self.probe(m, evaluate: false))
                            await limiter.release()
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// What the flake builds now for each machine, yielded as each answers: two evaluations at once
    /// (each is a nix process), taken in the given order (worker k takes machines k, k+2, …).
    func evaluations(_ machines: [Machine], workers: Int = 2) -> AsyncStream<(String, String?, String?)> {
        AsyncStream { continuation in
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<workers {
                        group.addTask {
                            for i in stride(from: w, to: machines.count, by: workers) {
                                if Task.isCancelled { return }
                                let (sys, err) = await self.flakeSystem(machines[i])
                                continuation.yield((machines[i].name, sys, err))
                            }
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Closes the masters this prober opened and removes their directory. Only the masters that
    /// exist (a socket in the directory), all at once: a host never reached has none, and an
    /// `ssh -O exit` per machine would cost a process each for nothing.
    public func close() async {
        let dir = ssh.controlDirectory
        let sockets = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let (runner, env) = (self.runner, options.environment)
        await withTaskGroup(of: Void.self) { group in
            for name in sockets {
                group.addTask {
                    _ = try? await runner.run(ProcessSpec(argv: SSHCommand.closeArgv(socket: dir + "/" + name),
                                                          environment: env, timeout: .seconds(5)))
                }
            }
        }
        ControlDirectory.remove(dir)
    }

    private func flakeSystem(_ m: Machine) async -> (String?, String?) {
        do {
            let r = try await runner.run(ProcessSpec(argv: options.builder.outPathArgv(machine: m.name, machineClass: m.machineClass),
                                                     environment: options.environment, timeout: .seconds(300)))
            if r.succeeded, let p = SystemBuilder.outPath(fromEvalOutput: r.stdoutString) { return (p, nil) }
            return (nil, ErrorText.nix(errors: [], stderrLines: r.stderrString.split(whereSeparator: \.isNewline).map(String.init),
                                       status: r.status))
        } catch {
            return (nil, "\(error)")
        }
    }
}

/// Wakes a waiting refresh early (`StatusProber.retarget`). One waiter at a time; a signal with
/// nobody waiting is kept for the next wait.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else { s.pending = true; return nil }
            s.waiter = nil
            return w
        }
        w?.resume()
    }

    /// Returns at `deadline`, at a signal (or one kept since the last wait), or when cancelled.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: deadline) }
            group.addTask { await self.signalled() }
            await group.next()
            group.cancelAll()
        }
    }

    private func signalled() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled { s.pending = false; return true }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in defer { s.waiter = nil }; return s.waiter }
            w?.resume()
        }
    }
}
