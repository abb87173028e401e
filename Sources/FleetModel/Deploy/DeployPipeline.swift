import Foundation
import Synchronization

/// A deploy in progress. Subscribe to `events` (one consumer), `cancel()` to stop every child
/// process group, `result()` for the summary. The run is recorded in history as it finishes.
public final class DeployRun: @unchecked Sendable {
    public let id: String
    public let kind: DeployKind
    /// Machine names, in the order of the run.
    public let hosts: [String]
    public let events: AsyncStream<DeployEvent>
    fileprivate var task: Task<DeploySummary, Never>?

    fileprivate init(id: String, kind: DeployKind, hosts: [String], events: AsyncStream<DeployEvent>) {
        self.id = id
        self.kind = kind
        self.hosts = hosts
        self.events = events
    }

    /// Stops the run: every ssh and nix child is terminated with its process group, open masters are
    /// closed, and hosts not started yet end as cancelled.
    public func cancel() { task?.cancel() }

    public func result() async -> DeploySummary {
        guard let task else { return DeploySummary(id: id, kind: kind, hosts: [], seconds: 0, cancelled: true) }
        return await task.value
    }
}

/// Runs deploys, rollbacks and dry runs over many hosts in parallel (up to `jobs`); one host's
/// failure never stops another.
public struct DeployPipeline: Sendable {
    public let runner: ProcessRunner
    public let history: DeployHistory?

    public init(runner: ProcessRunner = ProcessRunner(), history: DeployHistory? = nil) {
        self.runner = runner
        self.history = history
    }

    /// Starts a run now. Machines are deployed in the given order as slots free up.
    public func start(_ machines: [Machine], options: DeployOptions) -> DeployRun {
        let id = Self.newID()
        var continuation: AsyncStream<DeployEvent>.Continuation!
        let events = AsyncStream<DeployEvent>(bufferingPolicy: .unbounded) { continuation = $0 }
        let run = DeployRun(id: id, kind: options.kind, hosts: machines.map(\.name), events: events)
        let cont = continuation!
        let runner = self.runner, history = self.history
        // Every event passes the log file on its way to the one consumer, in order.
        let (logged, logging) = AsyncStream.makeStream(of: DeployEvent.self, bufferingPolicy: .unbounded)
        Task {
            for await e in logged { DeployLog.record(e); cont.yield(e) }
            cont.finish()
        }
        run.task = Task {
            await Self.execute(id: id, machines: machines, options: options, runner: runner, history: history, events: logging)
        }
        return run
    }

    /// `20261128T052301Z-1a2b3c` — sortable, unique.
    static func newID() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: Date()) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    private static func execute(id: String, machines: [Machine], options: DeployOptions, runner: ProcessRunner,
                                history: DeployHistory?, events: AsyncStream<DeployEvent>.Continuation) async -> DeploySummary {
        let started = Date()
        let clock = ContinuousClock.now
        events.yield(DeployEvent(host: "", stage: nil, kind: .runStarted(id: id, kind: options.kind, hosts: machines.map(\.name))))
        try? history?.begin(id: id, kind: options.kind, hosts: machines.count, startedAt: started)

        var results: [String: HostResult] = [:]
        let controlDir: String
        do {
            controlDir = try ControlDirectory.create(parent: options.controlDirectoryParent)
        } catch {
            for m in machines {
                let f = DeployFailure(host: m.name, stage: .connect, message: "\(error)")
                results[m.name] = HostResult(host: m.name, target: nil, outcome: .failed(f), systemPath: nil, previousSystem: nil,
                                             generation: nil, seconds: 0, stages: [(.connect, .failed(f), 0)])
            }
            return finish(id: id, machines: machines, options: options, results: results, clock: clock, history: history, events: events)
        }
        defer { ControlDirectory.remove(controlDir) }

        let ssh = SSHSettings(controlDirectory: controlDir, configFile: options.sshConfigFile, hostKeyPolicy: options.hostKeyPolicy,
                              connectTimeout: max(1, Int(options.timeout(.connect).components.seconds)),
                              extraOptions: options.sshExtraOptions)
        let limiter = AsyncLimiter(options.jobs ?? max(1, machines.count))
        let eta: @Sendable (String, DeployStage) -> Double? = { host, stage in history?.eta(host: host, stage: stage) }
        let emit: @Sendable (DeployEvent) -> Void = { events.yield($0) }
        let unitSuffix = String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        // Only the machines that build here share one nix build; the others build on their target
        // or build host.
        let localBuilds = machines.filter { options.buildPlacement(for: $0).kind == .local }
        let batch = options.kind == .deploy && options.batchBuild
            ? BuildBatch(flake: options.builder, machines: localBuilds, runner: runner, environment: options.environment,
                         timeout: options.timeout(.build))
            : nil
        let masters = SharedMasters()
        let remoteBuilds = machines.filter { options.buildPlacement(for: $0).kind != .local }
        let derivations = options.kind == .deploy && options.batchBuild
            ? DerivationBatch(flake: options.builder, machines: remoteBuilds, runner: runner, environment: options.environment,
                              timeout: options.timeout(.build))
            : nil

        let varsRun = options.kind == .deploy
            ? options.vars.map { DeployVarsRun(step: $0, machines: machines.map(\.name), interaction: options.interaction) }
            : nil

        await withTaskGroup(of: HostResult.self) { group in
            // Slots are taken here, in the machines' order, before each host's task exists: child
            // tasks racing for the limiter would start `--jobs 1` hosts in whatever order the
            // scheduler ran them (seen in CI: tb4 before tb3).
            for m in machines {
                do {
                    try await limiter.acquire()
                } catch {
                    group.addTask {
                        let f = DeployFailure(host: m.name, stage: .resolve, message: "cancelled before it started", cancelled: true)
                        let r = HostResult(host: m.name, target: nil, outcome: .failed(f), systemPath: nil, previousSystem: nil,
                                           generation: nil, seconds: 0, stages: [])
                        events.yield(DeployEvent(host: m.name, stage: nil, kind: .hostFinished(r)))
                        return r
                    }
                    continue
                }
                group.addTask {
                    let d = HostDeployer(machine: m, options: options, ssh: ssh, runner: runner, unitSuffix: unitSuffix,
                                         eta: eta, emit: emit)
                    d.batch = batch
                    d.varsRun = varsRun
                    d.masters = masters
                    d.derivations = derivations
                    let r = await d.run()
                    try? history?.record(deployID: id, result: r, logs: d.stageLogs)
                    events.yield(DeployEvent(host: m.name, stage: nil, kind: .hostFinished(r)))
                    // Only now the next host may start, so its events follow this host's end.
                    await limiter.release()
                    return r
                }
            }
            for await r in group { results[r.host] = r }
        }
        batch?.cancel()
        await varsRun?.cancel()
        return finish(id: id, machines: machines, options: options, results: results, clock: clock, history: history, events: events)
    }

    private static func finish(id: String, machines: [Machine], options: DeployOptions, results: [String: HostResult],
                               clock: ContinuousClock.Instant, history: DeployHistory?,
                               events: AsyncStream<DeployEvent>.Continuation) -> DeploySummary {
        let ordered = machines.compactMap { results[$0.name] }
        let cancelled = ordered.contains { $0.failure?.cancelled == true }
        let summary = DeploySummary(id: id, kind: options.kind, hosts: ordered, seconds: HostDeployer.seconds(since: clock),
                                    cancelled: cancelled)
        try? history?.finish(summary, finishedAt: Date())
        events.yield(DeployEvent(host: "", stage: nil, kind: .runFinished(summary)))
        events.finish()
        return summary
    }
}

/// The ssh masters a run shares between hosts: a build host serving several targets, or two
/// machines with the same target. A master is closed when the last host using it is done. Uploads
/// to one host go one at a time (two `nix copy` sessions adding the same derivations to one store
/// at once break nix 2.8's ssh-ng protocol: "not an absolute path: 'nix-archive-1'").
final class SharedMasters: Sendable {
    private struct Entry {
        var target: SSHTarget
        var users: Int
        var uploads: AsyncLimiter
    }
    private let entries = Mutex<[Entry]>([])

    /// One more host uses `t`'s master.
    func retain(_ t: SSHTarget) {
        entries.withLock { list in
            if let i = list.firstIndex(where: { $0.target == t }) { list[i].users += 1 } else { list.append(Entry(target: t, users: 1, uploads: AsyncLimiter(1))) }
        }
    }

    /// A host is done with `t`; true when nobody uses its master any more (close it).
    func release(_ t: SSHTarget) -> Bool {
        entries.withLock { list in
            guard let i = list.firstIndex(where: { $0.target == t }) else { return true }
            list[i].users -= 1
            return list[i].users <= 0
        }
    }

    /// The upload lock of `t`.
    func uploads(_ t: SSHTarget) -> AsyncLimiter {
        entries.withLock { list in
            if let e = list.first(where: { $0.target == t }) { return e.uploads }
            let l = AsyncLimiter(1)
            list.append(Entry(target: t, users: 0, uploads: l))
            return l
        }
    }
}

/// The private directory for ControlMaster sockets: `mkdtemp`, mode 0700, short path.
enum ControlDirectory {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func create(parent: String?) throws -> String {
        let env = ProcessInfo.processInfo.environment
        var base = parent ?? env["TMPDIR"] ?? "/tmp"
        // A socket path is `<dir>/<40 hex>` and must fit in 107 bytes; fall back to /tmp when long.
        if base.utf8.count > 50 { base = "/tmp" }
        var template = Array((base + "/fleet-ssh-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw Failure(description: "cannot create the ssh control directory in \(base): \(String(cString: strerror(errno)))")
        }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.contains(where: { $0.isWhitespace }) {
            throw Failure(description: "ssh control directory \(path) contains whitespace (nix splits NIX_SSHOPTS on it)")
        }
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
