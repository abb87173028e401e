import Foundation
import GRDB

/// Every deploy, per host and stage, in SQLite (`$XDG_STATE_HOME/fleet/history.sqlite`): durations,
/// results, errors and the stage logs (already free of secrets — see `Redactor`). Feeds the ETA of
/// the Deploy screen and the History screen.
public final class DeployHistory: Sendable {
    private let db: DatabaseQueue
    public let path: String
    /// The fleet runs are recorded for and listed from (`InventorySource.fleetKey`); nil reads
    /// every fleet's runs (and records runs for none).
    public let fleet: String?

    /// `$XDG_STATE_HOME/fleet/history.sqlite`, else `~/.local/state/fleet/history.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        XDGDirectories.fleet(.state, "history.sqlite", environment: environment)
    }

    public init(path: String, fleet: String? = nil) throws {
        self.path = path
        self.fleet = fleet
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var config = Configuration()
        config.busyMode = .timeout(5)
        db = try DatabaseQueue(path: path, configuration: config)
        try Self.migrator.migrate(db)
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "deploy") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull()
                t.column("startedAt", .double).notNull()
                t.column("finishedAt", .double)
                t.column("hostCount", .integer).notNull()
                t.column("failedCount", .integer)
                t.column("cancelled", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "hostRun") { t in
                t.column("deployID", .text).notNull().references("deploy", onDelete: .cascade)
                t.column("host", .text).notNull()
                t.column("target", .text)
                t.column("result", .text).notNull()        // ok | failed
                t.column("message", .text).notNull()
                t.column("failedStage", .text)
                t.column("systemPath", .text)
                t.column("previousSystem", .text)
                t.column("generation", .integer)
                t.column("seconds", .double).notNull()
                t.primaryKey(["deployID", "host"])
            }
            try db.create(table: "stageRun") { t in
                t.column("deployID", .text).notNull().references("deploy", onDelete: .cascade)
                t.column("host", .text).notNull()
                t.column("stage", .text).notNull()
                t.column("seq", .integer).notNull()
                t.column("result", .text).notNull()        // ok | skipped | failed
                t.column("message", .text).notNull()
                t.column("seconds", .double).notNull()
                t.column("log", .text).notNull()
                t.primaryKey(["deployID", "host", "stage"])
            }
            try db.create(index: "stageRun_eta", on: "stageRun", columns: ["host", "stage", "result"])
        }
        // History is per fleet (issue 16: one database listed every fleet's runs). Older rows keep
        // a NULL fleet and show only when all fleets are asked for.
        m.registerMigration("v2-fleet") { db in
            try db.alter(table: "deploy") { t in t.add(column: "fleet", .text) }
            try db.create(index: "deploy_fleet", on: "deploy", columns: ["fleet", "startedAt"])
        }
        return m
    }

    // MARK: Writing

    public func begin(id: String, kind: DeployKind, hosts: Int, startedAt: Date) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO deploy (id, kind, startedAt, hostCount, fleet) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, kind.rawValue, startedAt.timeIntervalSince1970, hosts, fleet])
        }
    }

    /// Records one host's result and its stage logs.
    public func record(deployID: String, result: HostResult, logs: [DeployStage: [String]]) throws {
        try db.write { db in
            let (res, msg, failedStage) = Self.columns(result.outcome)
            try db.execute(sql: """
                INSERT OR REPLACE INTO hostRun (deployID, host, target, result, message, failedStage, systemPath,
                    previousSystem, generation, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [deployID, result.host, result.target, res == "failed" ? "failed" : "ok", msg, failedStage,
                                 result.systemPath, result.previousSystem, result.generation, result.seconds])
            for (i, s) in result.stages.enumerated() {
                let (r, m, _) = Self.columns(s.outcome)
                try db.execute(sql: """
                    INSERT OR REPLACE INTO stageRun (deployID, host, stage, seq, result, message, seconds, log)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [deployID, result.host, s.stage.rawValue, i, r, m, s.seconds,
                                     (logs[s.stage] ?? []).joined(separator: "\n")])
            }
        }
    }

    public func finish(_ summary: DeploySummary, finishedAt: Date) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE deploy SET finishedAt = ?, failedCount = ?, cancelled = ? WHERE id = ?",
                           arguments: [finishedAt.timeIntervalSince1970, summary.failed.count, summary.cancelled, summary.id])
        }
    }

    private static func columns(_ o: DeployOutcome) -> (String, String, String?) {
        switch o {
        case .ok(let m): return ("ok", m, nil)
        case .skipped(let m): return ("skipped", m, nil)
        case .failed(let f): return ("failed", f.description, f.stage.rawValue)
        }
    }

    // MARK: Reading

    public struct Deploy: Equatable, Sendable {
        public var id: String
        public var kind: DeployKind
        public var startedAt: Date
        public var finishedAt: Date?
        public var hostCount: Int
        public var failedCount: Int?
        public var cancelled: Bool
        /// `InventorySource.fleetKey` of the fleet; nil for runs recorded before history was per fleet.
        public var fleet: String?
    }

    public struct Host: Equatable, Sendable {
        public var deployID: String
        public var host: String
        public var target: String?
        public var succeeded: Bool
        public var message: String
        public var failedStage: DeployStage?
        public var systemPath: String?
        public var previousSystem: String?
        public var generation: Int?
        public var seconds: Double
    }

    public struct Stage: Equatable, Sendable {
        public var stage: DeployStage
        public var result: String
        public var message: String
        public var seconds: Double
        public var log: String
    }

    /// Newest first: this fleet's runs, or every fleet's with `allFleets` (or without a fleet).
    public func deploys(limit: Int = 100, allFleets: Bool = false) throws -> [Deploy] {
        try db.read { db in
            if let fleet, !allFleets {
                return try Row.fetchAll(db, sql: "SELECT * FROM deploy WHERE fleet = ? ORDER BY startedAt DESC, rowid DESC LIMIT ?",
                                        arguments: [fleet, limit]).map(Self.deploy)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM deploy ORDER BY startedAt DESC, rowid DESC LIMIT ?", arguments: [limit]).map(Self.deploy)
        }
    }

    public func deploy(id: String) throws -> Deploy? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM deploy WHERE id = ?", arguments: [id]).map(Self.deploy) }
    }

    /// The newest finished run of a kind (for `--retry-failed`), of this fleet when it has one.
    public func lastDeploy(kind: DeployKind? = nil) throws -> Deploy? {
        try db.read { db in
            var clauses: [String] = [], args: [(any DatabaseValueConvertible)?] = []
            if let kind { clauses.append("kind = ?"); args.append(kind.rawValue) }
            if let fleet { clauses.append("fleet = ?"); args.append(fleet) }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") + " "
            return try Row.fetchOne(db, sql: "SELECT * FROM deploy \(whereSQL)ORDER BY startedAt DESC, rowid DESC LIMIT 1",
                                    arguments: StatementArguments(args)).map(Self.deploy)
        }
    }

    public func hosts(deployID: String) throws -> [Host] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM hostRun WHERE deployID = ? ORDER BY host", arguments: [deployID]).map { r in
                Host(deployID: r["deployID"], host: r["host"], target: r["target"], succeeded: (r["result"] as String) == "ok",
                     message: r["message"], failedStage: (r["failedStage"] as String?).flatMap(DeployStage.init(rawValue:)),
                     systemPath: r["systemPath"], previousSystem: r["previousSystem"], generation: r["generation"],
                     seconds: r["seconds"])
            }
        }
    }

    public func stages(deployID: String, host: String) throws -> [Stage] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stageRun WHERE deployID = ? AND host = ? ORDER BY seq",
                             arguments: [deployID, host]).compactMap { r in
                guard let s = DeployStage(rawValue: r["stage"]) else { return nil }
                return Stage(stage: s, result: r["result"], message: r["message"], seconds: r["seconds"], log: r["log"])
            }
        }
    }

    /// The whole log of one host in one run, stage by stage.
    public func log(deployID: String, host: String) throws -> String {
        try stages(deployID: deployID, host: host).map { s in
            "== \(s.stage.rawValue): \(s.result) (\(String(format: "%.1f", s.seconds))s) \(s.message)" + (s.log.isEmpty ? "" : "\n" + s.log)
        }.joined(separator: "\n")
    }

    /// Typical duration of a stage for a host: the median of its last 10 successful runs (nom's rule,
    /// peers.md §2.3), else of the last 10 on any host; nil without history.
    public func eta(host: String, stage: DeployStage) -> Double? {
        (try? db.read { db -> Double? in
            var xs = try Double.fetchAll(db, sql: """
                SELECT s.seconds FROM stageRun s JOIN deploy d ON d.id = s.deployID
                WHERE s.host = ? AND s.stage = ? AND s.result = 'ok' AND d.kind = 'deploy'
                ORDER BY d.startedAt DESC LIMIT 10
                """, arguments: [host, stage.rawValue])
            if xs.isEmpty {
                xs = try Double.fetchAll(db, sql: """
                    SELECT s.seconds FROM stageRun s JOIN deploy d ON d.id = s.deployID
                    WHERE s.stage = ? AND s.result = 'ok' AND d.kind = 'deploy'
                    ORDER BY d.startedAt DESC LIMIT 10
                    """, arguments: [stage.rawValue])
            }
            return Self.median(xs)
        }) ?? nil
    }

    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    private static func deploy(_ r: Row) -> Deploy {
        Deploy(id: r["id"], kind: DeployKind(rawValue: r["kind"]) ?? .deploy,
               startedAt: Date(timeIntervalSince1970: r["startedAt"]),
               finishedAt: (r["finishedAt"] as Double?).map(Date.init(timeIntervalSince1970:)),
               hostCount: r["hostCount"], failedCount: r["failedCount"], cancelled: r["cancelled"], fleet: r["fleet"])
    }
}
