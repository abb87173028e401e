import Foundation

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
/// `close()` ends the masters and removes the socket directory.
public final class StatusProber: @unchecked Sendable {
    private let options: DeployOptions
    private let runner: ProcessRunner
    private let ssh: SSHSettings

    public init(options: DeployOptions, runner: ProcessRunner = ProcessRunner(), probeTimeout: Int = 5) throws {
        self.options = options
        self.runner = runner
        ssh = SSHSettings(controlDirectory: try ControlDirectory.create(parent: options.controlDirectoryParent),
                          configFile: options.sshConfigFile, hostKeyPolicy: options.hostKeyPolicy,
                          connectTimeout: probeTimeout, controlPersist: 120,
                          // A master to a host that died must notice and exit, or probes through it hang.
                          extraOptions: ["ServerAliveInterval=\(probeTimeout)", "ServerAliveCountMax=2"] + options.sshExtraOptions)
    }

    /// One host: ssh probe and (optionally) evaluation, concurrently.
    public func probe(_ machine: Machine, evaluate: Bool = true) async -> HostStatus {
        async let evaluation: (String?, String?) = evaluate ? flakeSystem(machine) : (nil, nil)
        var status = HostStatus(machine: machine.name, target: nil, reachability: .noTarget(""), runningSystem: nil,
                                generation: nil, flakeSystem: nil, evaluationError: nil, checkedAt: Date())
        if let text = options.targetString(for: machine) {
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
                let r = try await runner.run(ProcessSpec(argv: SSHCommand.argv(target, ssh, remote: RemoteFacts.probeArgv),
                                                         environment: options.environment, timeout: limit))
                if r.timedOut {
                    status.reachability = .unreachable("timed out after \(ssh.connectTimeout * 2)s")
                } else if r.status == 0, let facts = RemoteFacts.parse(r.stdoutString) {
                    status.reachability = .reachable(seconds: HostDeployer.seconds(since: start))
                    status.runningSystem = facts.currentSystem
                    status.generation = facts.generation
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

    /// Every host, at most `jobs` at once, in the order given.
    public func probeAll(_ machines: [Machine], evaluate: Bool = true, jobs: Int = 8) async -> [HostStatus] {
        let limiter = AsyncLimiter(jobs)
        return await withTaskGroup(of: (Int, HostStatus?).self) { group in
            for (i, m) in machines.enumerated() {
                group.addTask {
                    do { try await limiter.acquire() } catch { return (i, nil) }
                    let s = await self.probe(m, evaluate: evaluate)
                    await limiter.release()
                    return (i, s)
                }
            }
            var out = [HostStatus?](repeating: nil, count: machines.count)
            for await (i, s) in group { out[i] = s }
            return out.compactMap { $0 }
        }
    }

    /// A background refresh: yields every host's status, then again every `interval`, until the
    /// consumer stops iterating (or the task is cancelled). The flake is evaluated on the first round
    /// and every `evaluateEvery` rounds after (evaluation takes seconds on a real flake).
    public func refreshing(_ machines: [Machine], every interval: Duration, evaluateEvery: Int = 5) -> AsyncStream<HostStatus> {
        AsyncStream { continuation in
            let task = Task {
                var round = 0
                var lastFlake: [String: String] = [:]
                while !Task.isCancelled {
                    let evaluate = round % max(1, evaluateEvery) == 0
                    for var s in await self.probeAll(machines, evaluate: evaluate) {
                        if evaluate { lastFlake[s.machine] = s.flakeSystem } else { s.flakeSystem = lastFlake[s.machine] }
                        continuation.yield(s)
                    }
                    round += 1
                    do { try await Task.sleep(for: interval) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Closes the masters this prober opened and removes their directory.
    public func close(_ machines: [Machine]) async {
        for m in machines {
            guard let text = options.targetString(for: m), let t = try? SSHTarget.parse(text) else { continue }
            _ = try? await runner.run(ProcessSpec(argv: SSHCommand.closeArgv(t, ssh), environment: options.environment,
                                                  timeout: .seconds(5)))
        }
        ControlDirectory.remove(ssh.controlDirectory)
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
