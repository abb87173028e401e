import Logging

/// A deploy's events in the log file (`FleetLog`): run and host results and stage ends at info (errors
/// at error), stage starts at debug, the stage logs — already redacted, as the Deploy screen and the
/// history show them — at trace.
enum DeployLog {
    static let logger = FleetLog.logger("fleet.deploy")

    static func record(_ e: DeployEvent) {
        let host = e.host.isEmpty ? "" : "[\(e.host)] "
        let stage = e.stage.map { $0.rawValue + " " } ?? ""
        switch e.kind {
        case .runStarted(let id, let kind, let hosts):
            logger.info("\(kind.rawValue) \(id) started: \(hosts.joined(separator: ", "))")
        case .stageStarted:
            logger.debug("\(host)\(stage)started")
        case .resolved(let plan):
            logger.info("\(host)target \(plan.target) (\(plan.targetSource)), builds \(plan.build), activates with \(plan.activation)")
        case .progress(_, let message):
            logger.trace("\(host)\(stage)\(message)")
        case .log(let line):
            logger.trace("\(host)\(stage)| \(line)")
        case .stageFinished(let outcome, let seconds):
            let took = String(format: "(%.1fs)", seconds)
            switch outcome {
            case .ok(let m): logger.info("\(host)\(stage)ok \(took) \(m)")
            case .skipped(let m): logger.info("\(host)\(stage)skipped: \(m)")
            case .failed(let f): logger.error("\(f.description) \(took)")
            }
        case .hostFinished(let r):
            if let f = r.failure {
                logger.error("\(host)failed at \(f.stage.rawValue)\(f.cancelled ? " (cancelled)" : f.timedOut ? " (timed out)" : "")")
            } else {
                logger.info("\(host)done \(String(format: "(%.1fs)", r.seconds))\(r.systemPath.map { " " + $0 } ?? "")")
            }
        case .runFinished(let s):
            let failed = s.hosts.filter { $0.failure != nil }.count
            logger.notice("\(s.kind.rawValue) \(s.id) finished: \(s.hosts.count - failed) ok, \(failed) failed\(s.cancelled ? ", cancelled" : "") \(String(format: "(%.1fs)", s.seconds))")
        }
    }
}
