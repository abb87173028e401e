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
            if let stage = e.stage { appendLog(&state, e.host, DeployView.stageHeader(stage)) }
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
            appendLog(&state, e.host, line)
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
                // A dry run's row keeps what it found (package changes, what it would switch to).
                case .ok(let m) where state.deploy.kind == .dryRun: r.state = .ok; r.stage = nil; r.message = m
                // Not deployed, and why (the run stopped after the zerotier migration).
                case .skipped(let m): r.state = .ok; r.stage = nil; r.message = m
                default: r.state = .ok; r.stage = nil; r.message = "done" + (result.generation.map { ", generation \($0)" } ?? "")
                }
            }
            noteSwitched(&state, result)
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

    static func appendLog(_ state: inout AppState, _ host: String, _ line: String) {
        var lines = state.deploy.logs[host, default: []]
        lines.append(line)
        if lines.count > DeployScreen.logCap {
            lines.removeFirst(lines.count - DeployScreen.logCap)
            if let s = state.deploy.logScroll, state.deploy.logHost == host { state.deploy.logScroll = max(0, s - 1) }
        }
        state.deploy.logs[host] = lines
    }

    /// `n`/`N` in the log pane: the next/previous line matching the `/` query becomes the top line.
    static func jumpToMatch(_ state: inout AppState, forward: Bool) {
        guard let host = state.deploy.logHost else { return }
        let lines = state.deploy.logs[host] ?? []
        let m = FilterMatcher(query: state.filters[.deploy] ?? "")
        guard !m.isEmpty else { toast(&state, "search the log with / first", .info); return }
        let n = lines.count
        let current = state.deploy.logScroll ?? n   // following: the search starts at the end
        // Wrapping around, like less and vim.
        let order = forward
            ? Array(stride(from: current + 1, to: n, by: 1)) + Array(stride(from: 0, through: min(current, n - 1), by: 1))
            : Array(stride(from: min(current - 1, n - 1), through: 0, by: -1)) + Array(stride(from: n - 1, through: max(current, 0), by: -1))
        guard let hit = order.first(where: { lines.indices.contains($0) && m.matches(joined: lines[$0].lowercased()) }) else {
            toast(&state, "no line matches \"\(state.filters[.deploy] ?? "")\"", .info)
            return
        }
        state.deploy.logScroll = hit
    }

    /// `y` copies the matched line (with a search) or the whole log of the open pane.
    static func copyLog(_ state: inout AppState) -> [Effect] {
        guard let host = state.deploy.logHost else { return [] }
        let lines = state.deploy.logs[host] ?? []
        let m = FilterMatcher(query: state.filters[.deploy] ?? "")
        if !m.isEmpty, let s = state.deploy.logScroll, lines.indices.contains(s), m.matches(joined: lines[s].lowercased()) {
            toast(&state, "copied 1 line to the clipboard", .success)
            return [.copyToClipboard(lines[s])]
        }
        toast(&state, "copied the log of \(host) (\(lines.count) lines) to the clipboard", .success)
        return [.copyToClipboard(lines.joined(separator: "\n"))]
    }

    /// A host that switched now runs what the run built (a deploy builds what the flake gives now),
    /// so the Fleet screen's verdict follows at once instead of at the next probe round.
    static func noteSwitched(_ state: inout AppState, _ result: HostResult) {
        guard result.failure == nil, state.deploy.kind != .dryRun, let path = result.systemPath,
              var s = state.hostStatus[result.host] else { return }
        if let before = s.generation, let after = result.generation, after != before { s.previousGeneration = before }
        s.runningSystem = path
        s.generation = result.generation ?? s.generation
        if state.deploy.kind == .deploy { s.flakeSystem = path }
        state.hostStatus[result.host] = s
    }

    static func selectedDeployHost(_ state: AppState) -> String? {
        let c = state.cursor(.deploy).row
        return state.deploy.rows.indices.contains(c) ? state.deploy.rows[c].host : nil
    }
}

extension Reducer {
    /// A running deploy waits for the user: sudo's password and vars prompts in the masked field,
    /// an unknown host key as a yes/no question showing its fingerprint (OpenSSH's wording).
    static func askDeployQuestion(_ state: inout AppState, _ q: DeployQuestion) {
        switch q {
        case .sudoPassword(let r):
            state.overlay = .varsPrompt(VarsPromptState(title: "sudo on \(r.host) (\(r.target))",
                                                        question: (r.retry ? "Sorry, try again. " : "") + r.prompt,
                                                        kind: .hidden, answersDeploy: true))
        case .varsPrompt(let r):
            state.overlay = .varsPrompt(VarsPromptState(title: "\(r.generator.name)/\(r.prompt.name) (before the deploy)",
                                                        question: r.text, kind: r.prompt.kind, answersDeploy: true))
        case .hostKey(let r):
            state.overlay = .confirm(ConfirmDialog(
                title: "Unknown host key: \(r.host)",
                lines: ["The authenticity of host '\(r.knownHostsName)' can't be established.",
                        "\(r.keyType) key fingerprint is \(r.fingerprint).",
                        "Are you sure you want to continue connecting?"],
                confirmLabel: "yes, trust it", onConfirm: [.deployAnswer("yes")], cancelSelected: true,
                onCancel: [.deployAnswer(nil)]))
        }
    }
}
