import FleetModel

/// The Vars screen: loading, generate / rotate / fix / reveal, prompts, and the offer to deploy.
extension Reducer {
    static func selectedVarsRow(_ state: AppState) -> VarsRow? {
        let rows = VarsRows.visible(state)
        let c = state.cursor(.vars).row
        return rows.indices.contains(c) ? rows[c] : nil
    }

    static func reduceVarsAction(_ state: inout AppState, _ action: Action) -> [Effect] {
        let row = selectedVarsRow(state)
        switch action {
        case .generateVars:
            return [.varsPlan(VarsIntent(kind: .generate, machine: row?.machine, generator: nil))]
        case .rotate:
            guard let g = row?.generator else {
                toast(&state, "select a generator or one of its files to rotate", .error)
                return []
            }
            return [.varsPlan(VarsIntent(kind: .rotate, machine: g.isExport ? nil : g.machine ?? row?.machine, generator: g.name,
                                         exportKey: g.exportKey))]
        case .fixVars:
            return [.varsFix(machine: row?.machine)]
        case .reveal:
            guard let row, let g = row.generator else {
                toast(&state, "select a secret file to reveal", .info)
                return []
            }
            guard let f = row.file else {
                // On a generator: its one secret file, else say which to pick (it used to do nothing).
                let secrets = (state.vars?.rows ?? []).filter { $0.level == .file && $0.generator == g && $0.machine == row.machine && $0.isSecret }
                guard secrets.count == 1, let only = secrets[0].file else {
                    toast(&state, secrets.isEmpty ? "\(g.name) has no secret file" : "\(g.name) has \(secrets.count) secret files: select one to reveal", .info)
                    return []
                }
                return [.varsReveal(machine: row.machine, generator: g, file: only)]
            }
            guard row.isSecret else {
                toast(&state, "\(g.name)/\(f) is public: its value is shown in the tree", .info)
                return []
            }
            return [.varsReveal(machine: row.machine, generator: g, file: f)]
        default:
            return []
        }
    }

    static func reduceVarsEvent(_ state: inout AppState, _ event: Event) -> [Effect] {
        switch event {
        case .varsLoaded(let data):
            state.vars = data
            state.varsError = nil
            if let sort = state.fleetSort, sort.column == .secrets { resortFleet(&state, sort) }
            clampCursors(&state)
            refreshDeployConfirmation(&state)
        case .varsFailed(let message):
            state.varsError = message
        case .varsPlanned(let intent, let plan, let missing, let overwrites):
            guard !plan.isEmpty else {
                toast(&state, "all vars are up to date; nothing to generate", .info)
                return []
            }
            let title: String
            switch intent.kind {
            case .rotate: title = "Rotate \(intent.generator ?? "?")\(intent.machine.map { " on \($0)" } ?? "")?"
            case .generate:
                let again = plan.generators.count - missing.count
                title = "Generate \(missing.count) missing generator\(missing.count == 1 ? "" : "s")"
                    + (again > 0 ? " and regenerate \(again) dependant\(again == 1 ? "" : "s")?" : "?")
            }
            var lines = ["Runs, in order: " + plan.generators.map(\.description).joined(separator: ", ")]
            if plan.generators.count > missing.count, intent.kind == .generate || plan.generators.count > 1 {
                lines.append("clan regenerates a generator as a whole, and every generator depending on one that runs.")
            }
            // Say exactly which existing files are replaced, never fewer (or more) than the run writes.
            lines.append(overwrites.isEmpty ? "Overwrites no existing file."
                         : "Overwrites \(overwrites.count) existing file\(overwrites.count == 1 ? "" : "s"): "
                            + overwrites.map { $0.hasPrefix("vars/") ? String($0.dropFirst(5)) : $0 }.joined(separator: ", "))
            let asks = plan.prompts.map { "\($0.generator.name)/\($0.prompt.name) (\($0.prompt.kind.rawValue))" }
            if !asks.isEmpty { lines.append("You will be asked for: " + asks.joined(separator: ", ")) }
            lines.append("Affected machines: " + (plan.affectedMachines.isEmpty ? "none" : plan.affectedMachines.joined(separator: ", ")))
            state.overlay = .confirm(ConfirmDialog(title: title, lines: lines, confirmLabel: intent.kind == .rotate ? "rotate" : "generate",
                                                   onConfirm: [.varsRun(plan)]))
        case .varsJobStarted(let title):
            state.varsJob = VarsJob(title: title)
            state.tab = .vars
        case .varsJobLine(let line):
            state.varsJob?.lines.append(line)
            if let n = state.varsJob?.lines.count, n > 500 { state.varsJob?.lines.removeFirst(n - 500) }
        case .varsPromptRequested(let req):
            state.overlay = .varsPrompt(VarsPromptState(title: "\(req.generator.name)/\(req.prompt.name)", question: req.text,
                                                        kind: req.prompt.kind))
        case .varsJobFinished(let ok, let affected, let message):
            state.varsJob?.running = false
            state.varsJob?.ok = ok
            state.varsJob?.affectedMachines = affected
            state.varsJob?.lines.append(message)
            toast(&state, message, ok ? .success : .error)
            if ok, !affected.isEmpty {
                state.overlay = .confirm(ConfirmDialog(
                    title: "Deploy the affected machines now?",
                    lines: [affected.joined(separator: ", "), "The new secrets reach a machine on its next deploy."],
                    confirmLabel: "deploy", onConfirm: [.deploy(machines: affected)]))
            }
            return [.loadVars]
        case .secretRevealed(let title, let value):
            state.overlay = .reveal(title: title, value: value)
        default:
            break
        }
        return []
    }
}
