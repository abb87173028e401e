import Foundation

/// The stages of one host's deploy, in order (design.md "Deploy pipeline", clan §3.1).
public enum DeployStage: String, Sendable, CaseIterable, Codable {
    case resolve, connect, secrets, build, copy, activate, verify

    /// Default wall-clock limit per stage.
    public var defaultTimeout: Duration {
        switch self {
        case .resolve: return .seconds(10)
        case .connect: return .seconds(30)
        case .secrets: return .seconds(60)
        case .build: return .seconds(3600)
        case .copy: return .seconds(1800)
        case .activate: return .seconds(600)
        case .verify: return .seconds(30)
        }
    }
}

/// What a run does to each host.
public enum DeployKind: String, Sendable, Codable {
    /// Build, copy, activate.
    case deploy
    /// `nix-env --rollback` and switch to the previous generation.
    case rollback
    /// Shows what would be built, copied and activated; changes nothing on the host.
    case dryRun = "dry-run"
}

/// How a stage or host ended.
public enum DeployOutcome: Equatable, Sendable {
    /// Done; the message says what happened ("copied 3 paths, 301 KiB", "nothing to copy").
    case ok(String)
    /// Not needed this time ("no secrets to upload").
    case skipped(String)
    /// The one-line error, naming host and stage (`DeployFailure.description`).
    case failed(DeployFailure)

    public var isFailure: Bool { if case .failed = self { return true } else { return false } }
}

/// A stage failure: `[tb2] connect failed: ssh: connect to host 10.231.0.6 port 22: No route to host`.
public struct DeployFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var stage: DeployStage
    public var message: String
    /// True when the stage ran out of time, false for other errors; nil reason = cancelled.
    public var timedOut: Bool
    public var cancelled: Bool

    public init(host: String, stage: DeployStage, message: String, timedOut: Bool = false, cancelled: Bool = false) {
        self.host = host
        self.stage = stage
        self.message = message
        self.timedOut = timedOut
        self.cancelled = cancelled
    }

    public var description: String { "[\(host)] \(stage.rawValue) failed: \(message)" }
}

/// One event of a deploy, in the order it happened for its host. The TUI's Deploy screen and the
/// CLI consume the same stream (`DeployRun.events`).
public struct DeployEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The run begins: the hosts it will work on, in order.
        case runStarted(id: String, kind: DeployKind, hosts: [String])
        /// A stage begins; `eta` is the typical duration from history (nil when there is none).
        case stageStarted(eta: Double?)
        /// The resolve stage decided where the host is reached and built, and how it activates.
        case resolved(DeployPlan)
        /// Progress inside a stage: fraction 0…1 when known, and a short message.
        case progress(fraction: Double?, message: String)
        /// One line of the stage's log (command output, nix build log), already free of secrets.
        case log(String)
        /// The stage ended after `seconds`.
        case stageFinished(DeployOutcome, seconds: Double)
        /// The host is done (every stage ok, or the first failure).
        case hostFinished(HostResult)
        /// The run is done.
        case runFinished(DeploySummary)
    }

    /// The machine name; empty for run-level events.
    public var host: String
    public var stage: DeployStage?
    public var kind: Kind
    public var time: Date

    public init(host: String, stage: DeployStage?, kind: Kind, time: Date = Date()) {
        self.host = host
        self.stage = stage
        self.kind = kind
        self.time = time
    }
}

/// Where a host is reached and built and how it activates — decided by the resolve stage, shown
/// on the Deploy screen and in dry runs.
public struct DeployPlan: Sendable, Equatable {
    /// `root@10.0.0.2`, or `localhost` for a local deploy.
    public var target: String
    /// Where the address came from (`DeployTarget.sourceLabel`).
    public var targetSource: String
    public var build: BuildPlacement
    /// `switch-to-configuration boot, then switch`, `darwin-rebuild switch on the target`.
    public var activation: String

    public init(target: String, targetSource: String, build: BuildPlacement, activation: String) {
        self.target = target
        self.targetSource = targetSource
        self.build = build
        self.activation = activation
    }

    /// One line for the log: `target root@tb1 (deploy.targetHost); builds on the target (default);
    /// activates with …`.
    public var summary: String {
        "target \(target) (\(targetSource)); builds \(build.label) (\(build.source)); activates with \(activation)"
    }
}

/// How one host's run ended.
public struct HostResult: Sendable, Equatable {
    public var host: String
    public var target: String?
    public var outcome: DeployOutcome
    /// The system store path built (deploy) or switched to (rollback).
    public var systemPath: String?
    /// The generation the host ran before, and the profile generation number after.
    public var previousSystem: String?
    public var generation: Int?
    public var seconds: Double
    /// Stage by stage: outcome and duration.
    public var stages: [(stage: DeployStage, outcome: DeployOutcome, seconds: Double)]

    public init(host: String, target: String?, outcome: DeployOutcome, systemPath: String?, previousSystem: String?,
                generation: Int?, seconds: Double, stages: [(stage: DeployStage, outcome: DeployOutcome, seconds: Double)]) {
        self.host = host
        self.target = target
        self.outcome = outcome
        self.systemPath = systemPath
        self.previousSystem = previousSystem
        self.generation = generation
        self.seconds = seconds
        self.stages = stages
    }

    public static func == (a: HostResult, b: HostResult) -> Bool {
        a.host == b.host && a.target == b.target && a.outcome == b.outcome && a.systemPath == b.systemPath
            && a.previousSystem == b.previousSystem && a.generation == b.generation && a.seconds == b.seconds
            && a.stages.map { "\($0.stage)\($0.outcome)\($0.seconds)" } == b.stages.map { "\($0.stage)\($0.outcome)\($0.seconds)" }
    }

    public var failure: DeployFailure? { if case .failed(let f) = outcome { return f } else { return nil } }
}

/// The end of a run: every host's result, in the order the run listed them.
public struct DeploySummary: Sendable, Equatable {
    public var id: String
    public var kind: DeployKind
    public var hosts: [HostResult]
    public var seconds: Double
    public var cancelled: Bool

    public init(id: String, kind: DeployKind, hosts: [HostResult], seconds: Double, cancelled: Bool) {
        self.id = id
        self.kind = kind
        self.hosts = hosts
        self.seconds = seconds
        self.cancelled = cancelled
    }

    public var failed: [HostResult] { hosts.filter { $0.outcome.isFailure } }
    public var succeeded: [HostResult] { hosts.filter { !$0.outcome.isFailure } }
}
