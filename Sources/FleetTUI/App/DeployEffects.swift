import Foundation
import FleetModel
import Synchronization

/// Starts deploys and rollbacks for the UI, forwards their events, cancels them, and reads the
/// deploy history. The same `DeployPipeline` as `fleet deploy`.
final class DeployEffects: Sendable {
    private let queue: EventQueue
    private let source: InventorySource
    private let settings: DeploySettings
    /// The running deploy and the background probes, shared by the UI thread and their tasks.
    private struct Running {
        var current: DeployRun?
        var prober: StatusProber?
        var probeTask: Task<Void, Never>?
        /// Resolves the targets (and starts the probes): once per dashboard.
        var configTask: Task<Void, Never>?
        /// The targets last resolved, which the probes follow.
        var targets: ResolvedTargets?
        /// `shutdown` ran: start nothing more.
        var closed = false
    }
    private let running = Mutex(Running())

    init(queue: EventQueue, source: InventorySource, settings: DeploySettings) {
        self.queue = queue
        self.source = source
        self.settings = settings
    }

    private var historyPath: String { settings.historyPath ?? DeployHistory.defaultPath() }

    /// Runs are recorded for, and listed from, this fleet only (issue 16).
    private func openHistory() throws -> DeployHistory {
        try DeployHistory(path: historyPath, fleet: source.fleetKey)
    }

    /// A deploy runs without a record when the database cannot be opened.
    private func history() -> DeployHistory? { try? openHistory() }

    /// The history to read, or nil when no run was ever recorded (no database file): reading it
    /// would create an empty one, and opening SQLite at every start of a dashboard that has nothing
    /// to list costs ~2.5 MB of its peak memory (GRDB's and SQLite's code and caches; docs/PERFORMANCE.md,
    /// "UI peak RSS, eighth session"). A recorded run (`history()`) creates it. Throws when the
    /// file is there but cannot be opened (corrupt, locked, unreadable).
    private func recordedHistory() throws -> DeployHistory? {
        FileManager.default.fileExists(atPath: historyPath) ? try openHistory() : nil
    }

    func start(_ names: [String], kind: DeployKind) {
        let q = queue
        Task.detached { [self] in
            do {
                let inv = try await InventoryLoader(source: source).loadFresh()
                let config = await ClanDeployConfig.evaluate(source: source)
                let machines = try DeploySelection.select(inv, names: names, tags: [])
                var options = try settings.options(kind: kind, source: source, fleet: ResolvedFleet(inv), deployConfig: config)
                options.interaction = interaction()
                let run = DeployPipeline(history: history()).start(machines, options: options)
                running.withLock { $0.current = run }
                for await e in run.events { q.post(.deployEvent(e)) }
                running.withLock { $0.current = nil }
            } catch {
                q.post(.toast("cannot start: \(error)", .error))
            }
        }
    }

    /// The dashboard's answers to a deploy's questions: each is posted as `Event.deployQuestion`
    /// and waits for `answer(_:)`. One question at a time (hosts ask in turn).
    private func interaction() -> DeployInteraction {
        let gate = QuestionGate()
        let q = queue
        let ask: @Sendable (DeployQuestion) async -> String? = { [self] question in
            await gate.serialized {
                await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
                    pending.withLock { $0 = c }
                    q.post(.deployQuestion(question))
                }
            }
        }
        return DeployInteraction(sudoPassword: { await ask(.sudoPassword($0)) },
                                 confirmHostKey: { await ask(.hostKey($0)) == "yes" },
                                 varsPrompt: { await ask(.varsPrompt($0)) })
    }

    private let pending = Mutex<CheckedContinuation<String?, Never>?>(nil)

    /// The user answered the pending deploy question (nil: cancelled).
    func answer(_ value: String?) {
        let c = pending.withLock { p -> CheckedContinuation<String?, Never>? in defer { p = nil }; return p }
        c?.resume(returning: value)
    }

    /// Cancels the running deploy: every child process group is stopped by the pipeline.
    func cancel() {
        running.withLock { $0.current }?.cancel()
        answer(nil)   // a question left open must not keep the cancelled host waiting
    }

    /// Background status probes (reachability, running vs flake system), refreshed every 30 s
    /// without touching the UI thread, and the targets they probe — the ones the TARGET column shows
    /// and the deploy tries first (`ResolvedTargets`). Started once, for the machines of the first
    /// inventory. For a flake source the targets come from its evaluated machine config and exports:
    /// the cached evaluation first (if the flake's files are unchanged), so the first probe already
    /// goes where the deploy would, then a fresh one (stored for next time), on which the probes
    /// re-target at once. A directory source has no machine config: the inventory's resolution, with
    /// the `--target` overrides (FLEET_DEPLOY_TARGETS) on top.
    func startProbes(_ fleet: ResolvedFleet) {
        let started = running.withLock { r in
            let started = r.configTask != nil
            if !started { r.configTask = Task {} }   // claim the slot
            return started
        }
        guard !started else { return }
        let q = queue
        // Resolving targets and building options costs O(machines): do it off the UI thread.
        let task = Task.detached { [self] in
            let machines = fleet.inventory.machineList
            let cache: DeployConfigCache?
            if case .flake(let f) = source { cache = DeployConfigCache(flake: FlakeEvaluator.flakeRef(f)) } else { cache = nil }
            // Directory source: only the overridden machines differ from the inventory's own targets.
            let covered = cache == nil ? machines.filter { settings.targetOverrides[$0.name] != nil } : machines
            func publish(_ config: ClanDeployConfig?) {
                guard cache == nil || config != nil, !covered.isEmpty,
                      let options = try? settings.options(kind: .dryRun, source: source, fleet: fleet, deployConfig: config) else { return }
                let table = ResolvedTargets.resolve(covered, options: options)
                running.withLock { r in
                    r.targets = table
                    r.prober?.retarget(table)
                }
                q.post(.configTargetsResolved(table))
            }
            publish(cache?.load())
            if !settings.disableProbes, !Task.isCancelled { startProbing(fleet) }
            guard let cache, !Task.isCancelled else { return }
            let fresh = await cache.refresh()
            if !Task.isCancelled { publish(fresh) }
        }
        running.withLock { $0.configTask = task }
    }

    /// The probe loop, from the targets published so far (then re-targeted by `startProbes`).
    private func startProbing(_ fleet: ResolvedFleet) {
        let q = queue
        let task = Task.detached { [self] in
            let machines = fleet.inventory.machineList
            // Without a flake to build there is nothing to compare against: probe reachability only.
            var evaluate = true
            var options = try? settings.options(kind: .deploy, source: source, fleet: fleet)
            if options == nil {
                evaluate = false
                options = try? settings.options(kind: .rollback, source: source, fleet: fleet)
            }
            guard let options, let p = try? StatusProber(options: options) else { return }
            running.withLock { r in
                r.prober = p
                if let t = r.targets { p.retarget(t) }
            }
            let cache = evaluate ? FlakeSystemCache(builder: options.builder) : nil
            for await s in p.refreshing(machines, every: .seconds(30), evaluateEvery: evaluate ? 5 : 0, cache: cache) {
                q.post(.hostStatus(s))
            }
            // Cancelled by shutdown: if it ran before the prober was published, close its masters here.
            let orphaned = running.withLock { $0.prober === p }
            if Task.isCancelled && orphaned { await p.close() }
        }
        let late = running.withLock { r -> Bool in
            if !r.closed { r.probeTask = task }
            return r.closed
        }
        if late { task.cancel() }
    }

    /// On quit: stop probing, close the ssh masters the probes opened, cancel a running deploy, so no
    /// process outlives fleet. It waits only for `ssh -O exit` of the masters that exist (none when
    /// no host was reached), run side by side, each with a 5 s timeout.
    func shutdown() {
        let (task, p, run, config) = running.withLock { r in
            defer { r.probeTask = nil; r.prober = nil; r.configTask = nil; r.closed = true }
            return (r.probeTask, r.prober, r.current, r.configTask)
        }
        task?.cancel()
        config?.cancel()
        run?.cancel()
        guard let p else { return }
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await p.close()
            done.signal()
        }
        _ = done.wait(timeout: .now() + 6)
    }

    /// Every host's recorded log of one past deploy (secrets were never written to it).
    func loadLog(deployID: String) {
        let q = queue
        Task.detached { [self] in
            guard let h = history() else { return }
            var lines: [String] = []
            for host in (try? h.hosts(deployID: deployID)) ?? [] {
                lines.append("== \(host.host): " + (host.succeeded ? "ok" : "failed at \(host.failedStage?.rawValue ?? "?")"))
                lines += ((try? h.log(deployID: deployID, host: host.host)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                lines.append("")
            }
            q.post(.historyLogLoaded(deployID: deployID, lines: lines.isEmpty ? ["(no log recorded)"] : lines))
        }
    }

    func loadHistory(allFleets: Bool) {
        let q = queue
        Task.detached { [self] in
            do {
                guard let h = try recordedHistory() else { q.post(.historyLoaded([])); return }   // what an empty one lists
                let fmt = DateFormatter()
                fmt.dateFormat = "yyyy-MM-dd HH:mm:ss"
                let entries = try h.deploys(limit: 200, allFleets: allFleets).map { d -> HistoryEntry in
                    let hosts = (try? h.hosts(deployID: d.id)) ?? []
                    let lines = hosts.map { host in
                        "\(host.host): " + (host.succeeded ? "ok" : "failed at \(host.failedStage?.rawValue ?? "?")")
                            + String(format: " (%.1fs) ", host.seconds) + host.message
                    }
                    return HistoryEntry(id: d.id, kind: d.kind.rawValue, startedAt: fmt.string(from: d.startedAt),
                                        seconds: d.finishedAt.map { $0.timeIntervalSince(d.startedAt) }, hosts: d.hostCount,
                                        failed: d.failedCount, cancelled: d.cancelled, hostLines: lines, fleet: d.fleet)
                }
                q.post(.historyLoaded(entries))
            } catch {
                q.post(.historyFailed("deploy history \(historyPath): \(error)"))
            }
        }
    }
}

/// How the UI deploys: from config.toml (jobs, host-key policy) and the environment
/// (`FLEET_SSH_CONFIG`, `FLEET_DEPLOY_TARGETS=m=addr,…`, `FLEET_BUILD_FLAKE`), which `make demo` sets
/// for its testbed.
struct DeploySettings: Sendable {
    var jobs: Int?
    var hostKeyPolicy: HostKeyPolicy = .ask
    var sshConfig: String?
    var targetOverrides: [String: String] = [:]
    var buildFlake: String?
    var historyPath: String?
    /// FLEET_NO_PROBES=1 turns the background ssh probes off.
    var disableProbes = false

    static func from(config: FleetConfig, environment env: [String: String]) -> DeploySettings {
        var s = DeploySettings()
        s.jobs = config.jobs
        s.hostKeyPolicy = HostKeyPolicy(rawValue: config.hostKeyPolicy.rawValue) ?? .ask
        s.sshConfig = env["FLEET_SSH_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        for pair in (env["FLEET_DEPLOY_TARGETS"] ?? "").split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { s.targetOverrides[String(kv[0])] = String(kv[1]) }
        }
        s.buildFlake = env["FLEET_BUILD_FLAKE"].flatMap { $0.isEmpty ? nil : $0 }
        s.historyPath = env["FLEET_HISTORY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        s.disableProbes = env["FLEET_NO_PROBES"] == "1"
        return s
    }

    /// The same options `fleet deploy` builds (targets from the resolved inventory, clan secrets
    /// uploaded), with the UI's settings on top.
    func options(kind: DeployKind, source: InventorySource, fleet: ResolvedFleet, deployConfig: ClanDeployConfig? = nil) throws -> DeployOptions {
        var o = try DeployOptions.standard(kind: kind, source: source, fleet: fleet, buildFlake: buildFlake, deployConfig: deployConfig)
        o.jobs = jobs
        o.hostKeyPolicy = hostKeyPolicy
        o.sshConfigFile = sshConfig
        o.targetOverrides = targetOverrides
        return o
    }
}

/// Runs one question at a time.
actor QuestionGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func serialized<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        let r = await body()
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        return r
    }
}
