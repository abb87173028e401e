import FleetModel

/// One host on the Deploy screen.
public struct DeployHostRow: Equatable, Sendable {
    public enum State: String, Sendable { case pending, running, ok, failed, cancelled }
    public var host: String
    public var state: State = .pending
    public var stage: DeployStage?
    /// Where the host is reached and where it builds (`local`, `target`, a build host), once resolved.
    public var target: String?
    public var buildsOn: String?
    /// 0…1 within the current stage, when known.
    public var fraction: Double?
    /// The last progress message or log line.
    public var message = ""
    /// App-clock seconds when the host started, and its final duration.
    public var startedAt: Double?
    public var seconds: Double?
    /// Typical duration of the current stage from history.
    public var stageETA: Double?
    public var stageStartedAt: Double?
    public var error: String?
}

/// The Deploy screen: the current (or last) run, per-host rows and logs.
public struct DeployScreen: Equatable, Sendable {
    public var runID: String?
    public var kind: DeployKind = .deploy
    public var rows: [DeployHostRow] = []
    /// Full log per host (capped), for the log view.
    public var logs: [String: [String]] = [:]
    public var summary: String?
    /// Hosts that failed in the last finished run, for retry.
    public var failedHosts: [String] = []
    /// The host whose log is open (enter), following new lines unless scrolled.
    public var logHost: String?
    public var logScroll: Int?

    public static let logCap = 2000
}

/// The History screen: past deploys, loaded from the history database.
public struct HistoryEntry: Equatable, Sendable {
    public var id: String
    public var kind: String
    public var startedAt: String
    public var seconds: Double?
    public var hosts: Int
    public var failed: Int?
    public var cancelled: Bool
    public var hostLines: [String]
    /// The fleet the run belonged to (its directory or flake), shown when listing every fleet.
    public var fleet: String?
}
