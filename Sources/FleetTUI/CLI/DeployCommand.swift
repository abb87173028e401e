import ArgumentParser
import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by `fleet deploy` and `fleet rollback`: how to reach hosts, where to build from,
/// and how to report.
struct DeployConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Hosts deployed at once (default: all).")
    var jobs: Int?

    @Option(name: .customLong("host-key-check"), help: "ask (default, as clan: an unknown host key's fingerprint is shown and you answer yes/no on the terminal; without a terminal the host fails), strict (the key must be in known_hosts), accept-new or tofu (trust unknown hosts on first use), none (no check at all). A changed key is refused by all but none.")
    var hostKeyCheck: String = "ask"

    @Option(name: .customLong("ssh-config"), help: "An ssh_config file for every ssh (ssh -F), e.g. the testbed's. Default: ~/.ssh/config.")
    var sshConfig: String?

    @Option(name: .customLong("target"), help: "MACHINE=[user@]host[:port]: override the inventory's deploy.targetHost (repeatable).")
    var targets: [String] = []

    @Option(name: .customLong("build-flake"), help: "Flake to build nixosConfigurations.<m> from (default: --flake, or the inventory directory when it holds flake.nix).")
    var buildFlake: String?

    @Option(name: .customLong("timeout"), help: "STAGE=SECONDS: time limit of a stage (resolve, connect, secrets, build, copy, activate, verify; repeatable).")
    var timeouts: [String] = []

    @Option(name: .customLong("history-file"), help: "Deploy history database (default: $XDG_STATE_HOME/fleet/history.sqlite).")
    var historyFile: String?

    @Flag(name: .customLong("build-per-host"), help: "One nix build per host instead of one shared build of all machines that build locally.")
    var buildPerHost = false

    @Option(name: .customLong("build-host"), help: "Where to build every machine: user@host[:port], or localhost (clan's --build-host). Default, as clan: inventory deploy.buildHost, else clan.core.networking.buildHost, else the target builds.")
    var buildHost: String?

    @Flag(name: .customLong("build-local"), help: "Build every machine here and copy the closures to the targets.")
    var buildLocal = false

    @Option(name: .customLong("option"), parsing: .upToNextOption, help: ArgumentHelp("Passed to nix for the build (repeatable: --option keep-going false --option cores 4).", valueName: "K V"))
    var nixOptionWords: [String] = []

    @Flag(name: .customLong("no-check"), help: "Skip NixOS switch inhibitors (clan --no-check: NIXOS_NO_CHECK=1).")
    var noCheck = false

    @Option(name: .customLong("specialisation"), help: "Activate this NixOS specialisation of the new system (clan --specialisation; refused for darwin machines).")
    var specialisation: String?

    @Flag(name: .customLong("no-secrets"), help: "Do not upload the machine age key and activation secrets.")
    var noSecrets = false

    @Flag(name: .customLong("no-history"), help: "Do not record this run.")
    var noHistory = false

    @Flag(help: "Print one JSON event per line instead of [machine]-prefixed text.")
    var json = false

    /// The history of `source`'s fleet (runs of other fleets in the same database stay apart).
    func history(for source: InventorySource) throws -> DeployHistory? {
        if noHistory { return nil }
        let path = historyFile ?? DeployHistory.defaultPath()
        do { return try DeployHistory(path: path, fleet: source.fleetKey) } catch { throw CLIError("fleet: cannot open deploy history \(path): \(error)") }
    }

    /// Targets: `--target` overrides, else clan's resolution (deploy.targetHost → network address →
    /// `root@<name>.<domain>`, `ResolvedFleet.targets`).
    func options(kind: DeployKind, source: InventorySource, fleet: ResolvedFleet, deployConfig: ClanDeployConfig? = nil) throws -> DeployOptions {
        guard let policy = HostKeyPolicy(rawValue: hostKeyCheck) else {
            throw CLIError("fleet: --host-key-check must be one of \(HostKeyPolicy.names), not '\(hostKeyCheck)'")
        }
        if let jobs, jobs < 1 { throw UsageFailure.exit("--jobs must be at least 1, not \(jobs)") }
        var overrides: [String: String] = [:]
        for t in targets {
            guard let eq = t.firstIndex(of: "="), eq != t.startIndex else {
                throw CLIError("fleet: --target '\(t)' is not MACHINE=ADDRESS")
            }
            let addr = String(t[t.index(after: eq)...])
            do { _ = try SSHTarget.parse(addr) } catch { throw CLIError("fleet: --target \(t): \(error)") }
            overrides[String(t[..<eq])] = addr
        }
        var stageTimeouts: [DeployStage: Duration] = [:]
        for t in timeouts {
            let parts = t.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let stage = DeployStage(rawValue: String(parts[0])), let secs = Double(parts[1]), secs > 0 else {
                throw CLIError("fleet: --timeout '\(t)' is not STAGE=SECONDS (stages: \(DeployStage.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            stageTimeouts[stage] = .milliseconds(Int(secs * 1000))
        }
        if let f = sshConfig, !FileManager.default.isReadableFile(atPath: f) {
            throw CLIError("fleet: --ssh-config \(f): cannot read file")
        }
        var o: DeployOptions
        do {
            o = try DeployOptions.standard(kind: kind, source: source, fleet: fleet, buildFlake: buildFlake,
                                           uploadSecrets: !noSecrets, deployConfig: deployConfig)
        } catch { throw CLIError("fleet: \(error)") }
        o.jobs = jobs
        o.hostKeyPolicy = policy
        o.sshConfigFile = sshConfig
        o.targetOverrides = overrides
        o.stageTimeouts = stageTimeouts
        o.batchBuild = !buildPerHost
        o.interaction = TerminalDeployInteraction.make()
        if buildLocal, buildHost != nil { throw CLIError("fleet: --build-local and --build-host exclude each other") }
        if let b = buildHost, b != "localhost" {
            do { _ = try SSHTarget.parse(b) } catch { throw CLIError("fleet: --build-host: \(error)") }
        }
        o.buildLocal = buildLocal
        o.buildHostOverride = buildHost
        guard nixOptionWords.count % 2 == 0 else {
            throw CLIError("fleet: --option takes a name and a value (--option keep-going false), got: \(nixOptionWords.joined(separator: " "))")
        }
        o.nixOptions = NixBuildOptions.parse(stride(from: 0, to: nixOptionWords.count, by: 2).map { (nixOptionWords[$0], nixOptionWords[$0 + 1]) })
        o.noCheck = noCheck
        if let s = specialisation {
            // A path component on the target: a name, nothing that could leave the system's directory.
            guard !s.isEmpty, !s.contains("/"), s != ".", s != ".." else { throw CLIError("fleet: --specialisation '\(s)' is not a name") }
            o.specialisation = s
        }
        return o
    }
}

/// `fleet deploy`: build, copy and activate machines in parallel, like `clan machines update`.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy machines: upload secrets, build, copy, activate, verify — hosts in parallel.",
        discussion: """
        Stages per host: resolve → connect (one ssh ControlMaster) → secrets → build → copy → activate → verify.
        Targets as clan resolves them: --target, inventory deploy.targetHost, the exported networks by \
        priority (probed; the first reachable wins), the machine's clan.core.networking.targetHost.
        Builds as clan: --build-host, deploy.buildHost, clan.core.networking.buildHost, else on the target \
        (the derivations are copied there and built with its nix); --build-local builds here.
        NixOS activates with switch-to-configuration boot, then switch; nix-darwin with darwin-rebuild switch.
        Without machine names, machines with requireExplicitUpdate are skipped (and named).
        One host failing never stops the others; the exit status is 1 when any host failed.
        Every run is recorded in the deploy history ($XDG_STATE_HOME/fleet/history.sqlite).

        Examples:
          fleet deploy                         every machine
          fleet deploy web1 web2 --jobs 2
          fleet deploy --tags server --dry-run show what would be built, copied and activated
          fleet deploy --retry-failed          the hosts that failed in the last deploy
          fleet deploy --json | jq .           one JSON event per line
          fleet deploy --inventory DIR --ssh-config TESTBED/ssh_config --target tb1=root@10.231.0.2
        See also: fleet rollback MACHINE…
        """)

    @OptionGroup var sourceOptions: SourceOptions
    @OptionGroup var connection: DeployConnectionOptions

    @Argument(help: "Machines to deploy (default: all, or all matching --tags).")
    var machines: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Only machines having all of these tags.")
    var tags: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Show what would be built, copied and activated; change nothing.")
    var dryRun = false

    @Flag(name: .customLong("retry-failed"), help: "Deploy again the hosts that failed in the last deploy (from history).")
    var retryFailed = false

    func run() async throws {
        if !dryRun { try await Self.migrateInventory(sourceOptions.source()) }
        let fleet: ResolvedFleet
        do { fleet = try await sourceOptions.loadFleet() } catch { throw CLIError("fleet: \(error)") }
        let inv = fleet.inventory
        let history = try connection.history(for: sourceOptions.source())
        var names = machines
        if retryFailed {
            guard machines.isEmpty, tags.isEmpty else { throw CLIError("fleet: --retry-failed takes no machines or tags") }
            guard let history else { throw CLIError("fleet: --retry-failed needs the deploy history (drop --no-history)") }
            guard let last = try? history.lastDeploy(kind: .deploy) else { throw CLIError("fleet: no deploy in the history yet") }
            names = ((try? history.hosts(deployID: last.id)) ?? []).filter { !$0.succeeded }.map(\.host)
            if names.isEmpty {
                print("fleet: the last deploy (\(last.id)) had no failed hosts; nothing to retry")
                return
            }
        }
        try UsageFailure.checkMachines(names, known: inv.machines.keys)
        let source = try sourceOptions.source()
        // The machines' config (targetHost, buildHost, requireExplicitUpdate) and clan.exports: a flake only.
        let config = await ClanDeployConfig.evaluate(source: source)
        let selection: DeploySelection.Result
        do {
            selection = try DeploySelection.select(inv, names: names, tags: tags, explicitOnly: config?.explicitOnly ?? [])
        } catch { throw CLIError("fleet: \(error)") }
        if !selection.skippedExplicitOnly.isEmpty {
            FileHandle.standardError.write(Data(("fleet: skipping \(selection.skippedExplicitOnly.joined(separator: " ")): "
                + "requireExplicitUpdate is set (name them to deploy them)\n").utf8))
        }
        let selected = selection.machines
        let options = try connection.options(kind: dryRun ? .dryRun : .deploy, source: source, fleet: fleet, deployConfig: config)
        let status = await DeployRunner.run(DeployPipeline(history: history), selected, options: options, json: connection.json)
        if status != 0 { throw ExitCode(status) }
    }
}

extension DeployCommand {
    /// clan's `run_inventory_migrations`, the first step of `clan machines update`, before anything
    /// is evaluated (`InventoryWriter.migrateServices`). A deploy only: a dry run changes nothing.
    static func migrateInventory(_ source: InventorySource) async throws {
        let dir: String?
        switch source {
        case .flake(let f): dir = FlakeEvaluator.localDirectory(f)
        case .directory(let p): dir = p
        case .demo: dir = nil
        }
        guard let dir else { return }
        do {
            let out = try await InventoryWriter(directory: dir).migrateServices()
            if out.changed {
                FileHandle.standardError.write(Data("fleet: inventory.json: removed the stale empty 'services' key (clan's inventory migration)\(out.committed ? ", committed" : "")\n".utf8))
            }
        } catch { throw CLIError("fleet: \(error)") }
    }
}

/// `fleet rollback MACHINE…`: back to the previous generation (`nix-env --rollback` + switch).
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Switch machines back to their previous system generation.",
        discussion: """
        Per host: resolve → connect → activate (nix-env -p /nix/var/nix/profiles/system --rollback, then \
        switch-to-configuration switch of the profile) → verify (/run/current-system is the profile's system).

        Examples:
          fleet rollback web1
          fleet rollback --tags server --json
        """)

    @OptionGroup var sourceOptions: SourceOptions
    @OptionGroup var connection: DeployConnectionOptions

    @Argument(help: "Machines to roll back.")
    var machines: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Only machines having all of these tags.")
    var tags: [String] = []

    func run() async throws {
        guard !machines.isEmpty || !tags.isEmpty else { throw CLIError("fleet: name the machines to roll back (or --tags)") }
        let fleet: ResolvedFleet
        do { fleet = try await sourceOptions.loadFleet() } catch { throw CLIError("fleet: \(error)") }
        let inv = fleet.inventory
        try UsageFailure.checkMachines(machines, known: inv.machines.keys)
        let selected: [Machine]
        do { selected = try DeploySelection.select(inv, names: machines, tags: tags) } catch { throw CLIError("fleet: \(error)") }
        let options = try connection.options(kind: .rollback, source: sourceOptions.source(), fleet: fleet)
        let status = await DeployRunner.run(DeployPipeline(history: try connection.history(for: sourceOptions.source())), selected, options: options,
                                              json: connection.json)
        if status != 0 { throw ExitCode(status) }
    }
}

/// Runs a deploy for a command: prints events, cancels on SIGINT/SIGTERM, returns the exit status
/// (1 when any host failed, 130 when cancelled).
enum DeployRunner {
    static func run(_ pipeline: DeployPipeline, _ machines: [Machine], options: DeployOptions, json: Bool) async -> Int32 {
        let run = pipeline.start(machines, options: options)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { run.cancel() }
            s.resume()
            return s
        }
        defer { sources.forEach { $0.cancel() } }
        let printer = DeployPrinter(json: json, hosts: run.hosts)
        for await e in run.events { printer.print(e) }
        let summary = await run.result()
        // clan's banner after its zerotier migration (clan then exits 0; so does the run).
        if summary.hosts.contains(where: { $0.outcome == .skipped(DeployVars.migratedMessage) }) {
            FileHandle.standardError.write(Data(ZerotierMigration.banner.utf8))
        }
        return summary.cancelled ? 130 : (summary.failed.isEmpty ? 0 : 1)
    }
}

/// `[machine] …` lines for a terminal (clan's prefix style), or JSON lines.
struct DeployPrinter {
    let json: Bool
    let width: Int

    init(json: Bool, hosts: [String]) {
        self.json = json
        width = min(20, hosts.map(\.count).max() ?? 0)
    }

    func print(_ e: DeployEvent) {
        if json { return write(DeployEventJSON.line(e)) }
        let p = "[\(e.host)]" + String(repeating: " ", count: max(0, width - e.host.count))
        let stage = e.stage?.rawValue ?? ""
        switch e.kind {
        case let .runStarted(id, kind, hosts):
            write("\(kind == .deploy ? "deploying" : kind.rawValue) \(hosts.count) host(s): \(hosts.joined(separator: " ")) (run \(id))")
        case let .stageStarted(eta):
            write("\(p) \(stage)…" + (eta.map { String(format: " (usually %.1fs)", $0) } ?? ""))
        case .resolved, .progress:
            break  // the log carries the plan's line (`DeployPlan.summary`); these are for the dashboard
        case let .log(line):
            write("\(p) \(line)")
        case let .stageFinished(outcome, seconds):
            switch outcome {
            case .ok(let m): write("\(p) \(stage) ok (\(String(format: "%.1f", seconds))s): \(m)")
            case .skipped(let m): write("\(p) \(stage) skipped: \(m)")
            case .failed(let f): write("\(p) \(f.stage.rawValue) failed: \(f.message)")
            }
        case let .hostFinished(r):
            if let f = r.failure { write("\(p) failed with error: \(f.description)") }
        case let .runFinished(s):
            write("")
            write("summary (\(s.hosts.count) host(s), \(String(format: "%.1f", s.seconds))s\(s.cancelled ? ", cancelled" : "")):")
            for h in s.hosts {
                let name = h.host.padding(toLength: max(width, h.host.count), withPad: " ", startingAt: 0)
                switch h.outcome {
                case .ok(let m): write("  \(name)  ok      \(String(format: "%6.1fs", h.seconds))  \(m)")
                case .skipped(let m): write("  \(name)  skipped \(String(format: "%6.1fs", h.seconds))  \(m)")
                case .failed(let f): write("  \(name)  FAILED  \(String(format: "%6.1fs", h.seconds))  \(f.stage.rawValue): \(f.message)")
                }
            }
            if !s.failed.isEmpty {
                write("\(s.failed.count) hosts failed with an error. Check the logs above (retry: fleet deploy --retry-failed)")
            }

        }
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }
}
