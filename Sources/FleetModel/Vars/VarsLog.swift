import Logging

/// A vars run in the log file (`FleetLog`): which generators ran and what was committed. Never the
/// generator's output, which is free to print what it generates.
enum VarsLog {
    static let logger = FleetLog.logger("fleet.vars")

    /// `sink`, with every event recorded first.
    static func recording(_ sink: @escaping VarsEventSink) -> VarsEventSink {
        { e in
            record(e)
            sink(e)
        }
    }

    static func record(_ e: VarsEvent) {
        switch e {
        case .generatorStarted(let id, let index, let total): logger.info("generator \(id) started (\(index + 1)/\(total))")
        case .output: break
        case .log(let line): logger.info("\(line)")
        case .committed(let id, let message): logger.info("generator \(id) committed: \(message)")
        case .generatorFinished(let id): logger.info("generator \(id) finished")
        }
    }
}
