import FleetModel

/// Deploy events update the per-host rows; the screen follows them live.
extension Reducer {
    static func reduceDeployEvent(_ state: inout AppState, _ e: DeployEvent) {
        let now = state.clock
        func update(_ host: String, _ f: (inout DeployHostRow) -> Void) {
            if let i = state.deploy.rows.firstIndex(where: { $0.host == host }) { f(&state.deploy.rows[i]) }
        }
        switch e.kind {
        case .runStarted(let id, let kind, let hosts):
            state.deploy = DeployScreen(runID: id, kind: kind, rows: hosts.map { DeployHostRow(host: $0) },
                                        logs: [:], summary: nil, failedHosts: state.deploy.failedHosts)
            state.deployRunning = true
            state.tab = .deploy
        case .stageStarted(let eta):
            update(e.host) { r in
                if r.startedAt == nil { r.startedAt = now }
                r.state = .running
                r.stage = e.stage
                r.fraction = nil
                r.stageETA = eta
                r.stageStartedAt = now
                r.message = e.stage.map { "\($0.rawValue)…" } ?? ""
            }
        case .resolved(let plan):
            update(e.host) { r in
                r.target = plan.target
                r.buildsOn = plan.build.column
            }
        case .progress(let fraction, let message):
            update(e.host) { r in
                r.fraction = fraction
                r.message = message
            }
        case .log(let line):
            var lines = state.deploy.logs[e.host, default: []]
            lines.append(line)
            if lines.count > DeployScreen.logCap { lines.removeFirst(lines.count - DeployScreen.logCap) }
            state.deploy.logs[e.host] = lines
            update(e.host) { r in if r.fraction == nil { r.message = line } }
        case .stageFinished(let outcome, _):
            update(e.host) { r in
                switch outcome {
                case .ok(let m), .skipped(let m): r.message = m
                case .failed(let f):
                    r.error = f.description
                    r.message = f.description
                }
                r.fraction = nil
            }
        case .hostFinished(let result):
            update(e.host) { r in
                r.seconds = result.seconds
                switch result.outcome {
                case .failed(let f): r.state = f.cancelled ? .cancelled : .failed; r.error = f.description
                default: r.state = .ok; r.stage = nil; r.message = "done" + (result.generation.map { ", generation \($0)" } ?? "")
                }
            }
        case .runFinished(let summary):
            state.deployRunning = false
            let failed = summary.failed.map(\.host)
            state.deploy.failedHosts = failed
            let verb = summary.kind == .rollback ? "rollback" : (summary.kind == .dryRun ? "dry run" : "deploy")
            let text = "\(verb): \(summary.succeeded.count) ok, \(failed.count) failed"
                + (summary.cancelled ? " (cancelled)" : "") + String(format: " in %.1fs", summary.seconds)
            state.deploy.summary = text
            toast(&state, text, failed.isEmpty && !summary.cancelled ? .success : .error)
        }
    }

    static func selectedDeployHost(_ state: AppState) -> String? {
        let c = state.cursor(.deploy).row
        return state.deploy.rows.indices.contains(c) ? state.deploy.rows[c].host : nil
    }
}
