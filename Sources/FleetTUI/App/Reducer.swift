import FleetModel

/// The only place state changes: `reduce(&state, event)` applies one event and returns the effects
/// to perform. Pure — no I/O — so every key binding is testable without a terminal.
public enum Reducer {
    public static let toastSeconds = 4.0

    public static func reduce(_ state: inout AppState, _ event: Event) -> [Effect] {
        switch event {
        case .resize(let w, let h):
            state.width = w
            state.height = h
            clampCursors(&state)
            return []
        case .tick(let now):
            state.clock = now
            if state.deployRunning { state.clockSecond = Int(now) }
            state.toasts.removeAll { $0.expiresAt <= now }
            return []
        case .inventoryLoaded(let resolved, let revalidating):
            // The first inventory starts the vars load: started together, the two compete for the
            // CPU (and the vars scan re-reads inventory.json), which tripled the first frame at 10k
            // machines (make bench, docs/PERFORMANCE.md).
            if state.inventory == nil && state.vars == nil { state.pendingLoadVars = true }
            // Probes start once, on the first authoritative inventory (startProbes ignores repeats).
            let firstFresh = state.inventory == nil || state.revalidatingWasLast
            if firstFresh && !revalidating { state.pendingProbes = true }
            let inv = resolved.inventory
            keepingSelection(&state) { $0.setFleet(resolved) }
            state.loadError = nil
            state.revalidating = revalidating
            state.revalidatingWasLast = revalidating
            state.marks = state.marks.filter { inv.machines[$0] != nil }
            // Both wait for every address (a first-screen fleet has only the visible rows'), so they
            // do not compete with the first frame; `fleetCompleted` brings the rest. The search
            // index is built off the UI thread in either case.
            guard let loaded = state.loaded else { return [] }
            return [.completeFleet(loaded)] + (resolved.isComplete ? takePendingEffects(&state) : [])
        case .fleetCompleted(let resolved, let index):
            // A completion of an inventory that has been replaced meanwhile is dropped.
            guard let current = state.fleet, current.isSameLoad(as: resolved) else { return [] }
            let wasComplete = current.isComplete
            keepingSelection(&state) { $0.completeFleet(resolved, searchIndex: index) }
            return wasComplete ? [] : takePendingEffects(&state)
        case .inventoryPreview:
            return []   // drawn by the event loop (`AppState.previewing`), never kept
        case .inventoryFailed(let message):
            let firstLoad = state.inventory == nil && state.loadError == nil && state.vars == nil
            state.loadError = message
            state.revalidating = false
            if state.inventory != nil { toast(&state, "reload failed: \(message)", .error) }
            return firstLoad ? [.loadVars] : []
        case .themeLoaded(let theme, let warning):
            state.theme = theme
            if let warning { toast(&state, warning, .error) } else { toast(&state, "theme \(theme.name)", .info) }
            return []
        case .themeNamesLoaded(let names):
            state.themeNames = names
            return []
        case .toast(let text, let kind):
            toast(&state, text, kind)
            return []
        case .varsLoaded, .varsFailed, .varsPlanned, .varsJobStarted, .varsJobLine, .varsPromptRequested,
             .varsJobFinished, .secretRevealed:
            return reduceVarsEvent(&state, event)
        case .deployQuestion(let q):
            askDeployQuestion(&state, q)
            return []
        case .deployEvent(let e):
            reduceDeployEvent(&state, e)
            if case .runFinished = e.kind { return [.loadHistory(allFleets: state.historyAllFleets)] }
            return []
        case .hostStatus(let s):
            state.hostStatus[s.machine] = s
            if let sort = state.fleetSort, sort.column == .status { resortFleet(&state, sort) }
            refreshDeployConfirmation(&state)
            return []
        case .configTargetsResolved(let t):
            state.configTargets = t
            if let sort = state.fleetSort, sort.column == .target { resortFleet(&state, sort) }
            return []
        case .historyLoaded(let entries):
            state.history = entries
            state.historyError = nil
            clampCursors(&state)
            return []
        case .historyLogLoaded(let id, let lines):
            state.overlay = .text(title: "deploy \(id)", lines: lines, scroll: 0)
            return []
        case .historyFailed(let m):
            state.historyError = m
            return []
        case .terminate(let sig):
            state.exitSignal = sig
            state.running = false
            return []
        case .key(let key):
            let tabBefore = state.tab
            defer { if state.tab != tabBefore { leftScreen(&state, tabBefore) } }
            if state.overlay != nil { return reduceOverlayKey(&state, key) }
            if state.filterEditing { return reduceFilterKey(&state, key) }
            if let mouse = reduceMouse(&state, key) { return mouse }
            guard let action = state.keyMap.action(for: key, on: state.tab) else { return [] }
            return reduceAction(&state, action)
        }
    }

    /// Leaving a screen closes what belongs to a finished piece of work there: a vars job's output
    /// pane stays only while the job runs (issue 16: it used to stay for good).
    static func leftScreen(_ state: inout AppState, _ tab: Tab) {
        if tab == .vars, state.varsJob?.running == false { state.varsJob = nil }
    }

    /// Changes the fleet rows while keeping the Fleet cursor on the same machine.
    static func keepingSelection(_ state: inout AppState, _ change: (inout AppState) -> Void) {
        let selected = state.selectedMachine?.name
        change(&state)
        if let selected, let idx = state.fleetRows.firstIndex(where: { state.machines[$0].name == selected }) {
            state.cursors[.fleet, default: TableCursor()].row = idx
        }
        clampCursors(&state)
    }

    /// The vars load and the probes, when they wait for a complete fleet (`AppState.pendingLoadVars`).
    static func takePendingEffects(_ state: inout AppState) -> [Effect] {
        var effects: [Effect] = []
        if state.pendingLoadVars { effects.append(.loadVars) }
        if state.pendingProbes, let loaded = state.loaded { effects.append(.startProbes(loaded)) }
        state.pendingLoadVars = false
        state.pendingProbes = false
        return effects
    }

    static func toast(_ state: inout AppState, _ text: String, _ kind: Toast.Kind) {
        state.toasts.append(Toast(text: text, kind: kind, expiresAt: state.clock + toastSeconds))
        if state.toasts.count > 3 { state.toasts.removeFirst(state.toasts.count - 3) }
    }

    public static func reduceAction(_ state: inout AppState, _ action: Action) -> [Effect] {
        let page = Layout.tableRows(height: state.height)
        switch action {
        case .quit:
            if state.deployRunning {
                state.overlay = .confirm(ConfirmDialog(
                    title: "Quit while a deploy runs?",
                    lines: ["The running deploy will be cancelled."],
                    confirmLabel: "quit", onConfirm: [.cancelDeploy], quitOnConfirm: true))
                return []
            }
            state.running = false
            return []
        case .moveDown: moveCursor(&state, by: 1)
        case .moveUp: moveCursor(&state, by: -1)
        case .pageDown: moveCursor(&state, by: page)
        case .pageUp: moveCursor(&state, by: -page)
        case .top: setCursor(&state, 0)
        case .bottom: setCursor(&state, Int.max)
        case .nextTab: state.tab = Tab(rawValue: state.tab.rawValue % Tab.allCases.count + 1) ?? .fleet
        case .previousTab:
            state.tab = Tab(rawValue: (state.tab.rawValue + Tab.allCases.count - 2) % Tab.allCases.count + 1) ?? .fleet
        case .tab1: state.tab = .fleet
        case .tab2: state.tab = .services
        case .tab3: state.tab = .deploy
        case .tab4: state.tab = .vars
        case .tab5: state.tab = .network
        case .tab6: state.tab = .history
        case .toggleMark:
            if let m = state.selectedMachine {
                if state.marks.contains(m.name) { state.marks.remove(m.name) } else { state.marks.insert(m.name) }
                moveCursor(&state, by: 1)
            }
        case .markAllVisible:
            for i in state.fleetRows { state.marks.insert(state.machines[i].name) }
        case .clearMarks: state.marks.removeAll()
        case .filter:
            state.filterEditing = true
        case .tagSelector:
            state.overlay = .tagSelector(TagSelectorState(tags: state.tagCounts, selected: []))
        case .palette:
            state.overlay = .palette(PaletteState(completions: Palette.completions(for: "", context: paletteContext(state))))
        case .help:
            state.overlay = .help(scroll: 0)
        case .back:
            if state.tab == .deploy && state.deploy.logHost != nil {
                state.deploy.logHost = nil
            } else if state.tab == .vars, state.varsJob?.running == false {
                state.varsJob = nil
            } else if state.detailOpen && state.tab == .fleet {
                state.detailOpen = false
            } else if !(state.filters[state.tab] ?? "").isEmpty {
                state.filters[state.tab] = ""
                state.recomputeFleetRows()
            }
        case .reload:
            state.revalidating = true
            // Vars follow the reloaded inventory (judged against its machines), as at start.
            state.pendingLoadVars = true
            return [.loadInventory(state.source)]
        case .deploy:
            guard !state.deployRunning else { toast(&state, "a deploy is already running", .error); return [] }
            let targets = state.targetMachines
            guard !targets.isEmpty else { toast(&state, "nothing to deploy: mark machines first", .error); return [] }
            state.overlay = .confirm(deployConfirmation(state, targets))
        case .cancelDeploy:
            guard state.deployRunning else { toast(&state, "no deploy is running", .info); return [] }
            return [.cancelDeploy]
        case .retryFailed:
            guard !state.deployRunning else { toast(&state, "a deploy is running", .error); return [] }
            let failed = state.deploy.failedHosts
            guard !failed.isEmpty else { toast(&state, "no failed hosts to retry", .info); return [] }
            state.overlay = .confirm(ConfirmDialog(title: "Retry \(failed.count) failed host\(failed.count == 1 ? "" : "s")?",
                                                   lines: [failed.joined(separator: ", ")], confirmLabel: "retry",
                                                   onConfirm: [.deploy(machines: failed)]))
            return []
        case .rollback:
            let targets = state.tab == .deploy ? (selectedDeployHost(state).map { [$0] } ?? []) : state.targetMachines
            guard !targets.isEmpty else { return [] }
            offerRollback(&state, targets)
        case .detail:
            if state.tab == .vars, state.varsJob?.running == false { state.varsJob = nil }
            if state.tab == .fleet { state.detailOpen.toggle() }
            if state.tab == .history, state.history.indices.contains(state.cursor(.history).row) {
                return [.loadHistoryLog(deployID: state.history[state.cursor(.history).row].id)]
            }
            if state.tab == .deploy, let h = selectedDeployHost(state) {
                state.deploy.logHost = state.deploy.logHost == h ? nil : h
                state.deploy.logScroll = nil
            }
            return []
        case .nextMatch, .previousMatch:
            jumpToMatch(&state, forward: action == .nextMatch)
            return []
        case .copyLog:
            return copyLog(&state)
        case .sortNext, .sortPrevious, .invertSort:
            guard state.tab == .fleet else { return [] }
            let visible = FleetColumn.visible(state, width: state.width).map(\.0)
            var sort = state.fleetSort ?? FleetSort(column: visible.first ?? .name)
            if action == .invertSort {
                sort.descending.toggle()
            } else if state.fleetSort != nil || action == .sortPrevious {
                let i = visible.firstIndex(of: sort.column) ?? -1
                let n = visible.count
                sort.column = visible[((action == .sortNext ? i + 1 : i - 1) % n + n) % n]
                sort.descending = false
            }
            resortFleet(&state, sort)
            toast(&state, "sorted by \(sort.column.title.lowercased())\(sort.descending ? ", descending" : "")", .info)
        case .toggleWide:
            state.fleetWide.toggle()
            toast(&state, state.fleetWide ? "wide view: SYSTEM and OVERLAY IP shown" : "normal view", .info)
        case .dryRun:
            guard !state.deployRunning else { toast(&state, "a deploy is already running", .error); return [] }
            let targets = state.targetMachines
            guard !targets.isEmpty else { return [] }
            // Changes nothing, so no question first; the Deploy screen shows each host's preview.
            return [.dryRun(machines: targets)]
        case .allFleets:
            state.historyAllFleets.toggle()
            state.cursors[.history] = TableCursor()
            return [.loadHistory(allFleets: state.historyAllFleets)]
        case .editTags:
            guard state.tab == .fleet, let m = state.selectedMachine else { return [] }
            state.overlay = .tagEdit(TagEditState(machine: m.name, currentTags: m.userTags))
            return []
        case .generateVars, .rotate, .fixVars, .reveal:
            guard state.tab == .vars else { return [] }
            return reduceVarsAction(&state, action)
        }
        // Only data events change other screens' row counts (and clamp them all); an action only
        // needs the current screen clamped — counting every screen is O(fleet) per key press.
        clampCursor(&state, state.tab)
        return []
    }

    /// The deploy question, with what will go wrong said before it does (issue 16): vars that are
    /// missing or outdated (and the offer to generate them first), hosts the probes could not reach,
    /// and hosts that cannot be deployed at all (no target, the flake does not evaluate).
    static func deployConfirmation(_ state: AppState, _ targets: [String]) -> ConfirmDialog {
        var lines = [targets.joined(separator: ", ")]
        let needVars = targets.filter { state.vars?.health[$0].map { !$0.ok } ?? false }
        if !needVars.isEmpty {
            lines.append("Vars need attention: " + needVars.map { "\($0) (\(state.vars!.health[$0]!.summary))" }.joined(separator: ", ")
                         + ". They deploy without them unless generated first.")
        }
        var unreachable: [String] = [], undeployable: [String] = []
        for m in targets {
            guard let s = state.hostStatus[m] else { continue }
            switch s.reachability {
            case .unreachable(let why): unreachable.append("\(m) (\(why))")
            case .noTarget: undeployable.append("\(m) (no target host)")
            case .reachable: break
            }
            if s.evaluationError != nil { undeployable.append("\(m) (the flake does not evaluate it)") }
        }
        if !unreachable.isEmpty { lines.append("Unreachable now, will fail at connect: " + unreachable.joined(separator: ", ")) }
        if !undeployable.isEmpty { lines.append("Cannot be deployed: " + undeployable.joined(separator: ", ")) }
        let generate = needVars.isEmpty ? nil : ConfirmAlternative(
            key: "g", label: "generate vars first",
            effects: [.varsPlan(VarsIntent(kind: .generate, machine: needVars.count == 1 ? needVars[0] : nil, generator: nil, machines: needVars))])
        return ConfirmDialog(title: "Deploy \(targets.count) machine\(targets.count == 1 ? "" : "s")?", lines: lines,
                             confirmLabel: "deploy", onConfirm: [.deploy(machines: targets)], alternative: generate,
                             followsFleetState: true)
    }

    /// An open deploy question says what is known now: a `d` pressed before the vars or the first
    /// probes answered asked without their warnings (and without the offer to generate first).
    static func refreshDeployConfirmation(_ state: inout AppState) {
        guard case .confirm(let d)? = state.overlay, d.followsFleetState, d.onConfirm.count == 1,
              case .deploy(let machines) = d.onConfirm[0] else { return }
        var fresh = deployConfirmation(state, machines)
        fresh.cancelSelected = d.cancelSelected
        if fresh != d { state.overlay = .confirm(fresh) }
    }

    /// The rollback confirmation names each host's generation change (`3 → 2`); hosts with nothing
    /// to roll back to (never deployed, or on their first generation) are left out, and with none
    /// left there is no dialog at all (issue 16: it failed only after confirming).
    static func offerRollback(_ state: inout AppState, _ targets: [String]) {
        var lines: [String] = [], go: [String] = [], skipped: [String] = []
        for m in targets {
            let s = state.hostStatus[m]
            switch (s?.generation, s?.previousGeneration) {
            case let (from?, to?):
                lines.append("\(m): generation \(from) → \(to)")
                go.append(m)
            case (_?, nil):
                skipped.append("\(m) (generation \(s!.generation!) is the first)")
            case (nil, _) where s?.isReachable == true:
                skipped.append("\(m) (never deployed)")
            default:
                // Not probed yet or unreachable: the host decides; say so rather than guess.
                lines.append("\(m): generation unknown (\(s.map { _ in "unreachable" } ?? "not probed yet")) → its previous one")
                go.append(m)
            }
        }
        guard !go.isEmpty else {
            toast(&state, "nothing to roll back to: " + skipped.joined(separator: ", "), .info)
            return
        }
        if !skipped.isEmpty { lines.append("Left out, nothing to roll back to: " + skipped.joined(separator: ", ")) }
        state.overlay = .confirm(ConfirmDialog(
            title: "Roll back \(go.joined(separator: ", "))?", lines: lines,
            confirmLabel: "roll back", onConfirm: [.rollback(machines: go)]))
    }

    /// Applies a sort, keeping the cursor on the machine it was on.
    static func resortFleet(_ state: inout AppState, _ sort: FleetSort) {
        let selected = state.selectedMachine?.name
        state.fleetSort = sort
        state.recomputeFleetRows()
        if let selected, let idx = state.fleetRows.firstIndex(where: { state.machines[$0].name == selected }) {
            state.cursors[.fleet, default: TableCursor()].row = idx
        }
        clampCursor(&state, .fleet)
    }

    // MARK: cursor

    static func rowCount(_ state: AppState, _ tab: Tab) -> Int {
        switch tab {
        case .fleet: return state.fleetRows.count
        case .services: return ServicesRows.count(state)
        case .network: return NetworkRows.rows(state).count
        case .vars: return VarsRows.visible(state).count
        case .deploy: return state.deploy.rows.count
        case .history: return state.history.count
        }
    }

    static func moveCursor(_ state: inout AppState, by delta: Int) {
        var c = state.cursor(state.tab)
        c.row = delta > 0 && c.row > Int.max - delta ? Int.max : c.row + delta
        c.clamp(count: rowCount(state, state.tab), visible: Layout.tableRows(height: state.height))
        state.cursors[state.tab] = c
        followCursorWithLog(&state)
    }

    /// An open log pane shows the host under the cursor (it used to stay on the first one).
    static func followCursorWithLog(_ state: inout AppState) {
        guard state.tab == .deploy, let open = state.deploy.logHost, let host = selectedDeployHost(state), host != open else { return }
        state.deploy.logHost = host
        state.deploy.logScroll = nil
    }

    static func setCursor(_ state: inout AppState, _ row: Int) {
        var c = state.cursor(state.tab)
        c.row = row
        c.clamp(count: rowCount(state, state.tab), visible: Layout.tableRows(height: state.height))
        state.cursors[state.tab] = c
        followCursorWithLog(&state)
    }

    static func clampCursors(_ state: inout AppState) {
        for tab in Tab.allCases { clampCursor(&state, tab) }
    }

    static func clampCursor(_ state: inout AppState, _ tab: Tab) {
        var c = state.cursor(tab)
        c.clamp(count: rowCount(state, tab), visible: Layout.tableRows(height: state.height))
        state.cursors[tab] = c
    }

    // MARK: mouse

    /// Clicks select tabs and rows; the wheel scrolls. Nil when the key is not a mouse event.
    static func reduceMouse(_ state: inout AppState, _ key: Key) -> [Effect]? {
        switch key {
        case .wheelUp: moveCursor(&state, by: -3); return []
        case .wheelDown: moveCursor(&state, by: 3); return []
        case .mouseClick(let x, let y):
            if y == 1, let tab = Chrome.tab(atColumn: x, width: state.width) {
                state.tab = tab
                return []
            }
            let bodyTop = Layout.bodyTop
            if y >= bodyTop && y < state.height - Layout.bodyBottom {
                setCursor(&state, state.cursor(state.tab).offset + (y - bodyTop))
            }
            return []
        default:
            return nil
        }
    }

    // MARK: filter line

    static func reduceFilterKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        var q = state.filters[state.tab] ?? ""
        switch key {
        case .enter:
            state.filterEditing = false
            return []
        case .escape:
            state.filterEditing = false
            q = ""
        case .backspace:
            // On an empty line it does nothing: closing silently made the next keys act as commands.
            guard !q.isEmpty else { return [] }
            q.removeLast()
        case .char(let c):
            q.append(c)
        case .ctrl("u"):
            q = ""
        case .down, .up:
            state.filterEditing = false
            return reduceAction(&state, key == .down ? .moveDown : .moveUp)
        default:
            return []
        }
        state.filters[state.tab] = q
        if state.tab == .deploy {
            // On the Deploy screen `/` searches the open log: jump to the first match from the top.
            state.deploy.logScroll = nil
            if !q.isEmpty, state.deploy.logHost != nil { state.deploy.logScroll = -1; jumpToMatch(&state, forward: true) }
            if state.deploy.logScroll == -1 { state.deploy.logScroll = nil }
            return []
        }
        state.recomputeFleetRows()
        setCursor(&state, 0)
        return []
    }

    static func paletteContext(_ state: AppState) -> PaletteContext {
        PaletteContext(machines: state.machines.map(\.name), tags: state.tagCounts.map(\.name),
                       generators: [], themes: state.themeNames)
    }
}
