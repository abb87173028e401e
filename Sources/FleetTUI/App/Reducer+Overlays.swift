import FleetModel

/// Keys while an overlay (help, palette, tag selector, confirmation) is open: the overlay gets them all.
extension Reducer {
    static func reduceOverlayKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        guard let overlay = state.overlay else { return [] }
        // Lists and dialogs move and close with the user's key map; text inputs (palette, tag
        // edit, prompts) take printable keys as text.
        let action = state.keyMap.overlayAction(for: key)
        let page = Layout.tableRows(height: state.height)
        switch overlay {
        case .help(let scroll):
            switch (key, action) {
            case (.enter, _), (_, .back?), (_, .quit?), (_, .help?): state.overlay = nil
            case (_, .moveDown?): state.overlay = .help(scroll: scroll + 1)
            case (_, .moveUp?): state.overlay = .help(scroll: max(0, scroll - 1))
            case (_, .pageDown?): state.overlay = .help(scroll: scroll + page)
            case (_, .pageUp?): state.overlay = .help(scroll: max(0, scroll - page))
            default: break
            }
            return []
        case .confirm(var dialog):
            // y and n answer directly, enter takes the choice under the cursor; the user's move
            // keys come first, so a `[keys]` binding of n moves rather than says no.
            switch (key, action) {
            case (_, .moveDown?), (_, .moveUp?), (.left, _), (.right, _), (.tab, _), (.backTab, _):
                dialog.cancelSelected.toggle()
                state.overlay = .confirm(dialog)
            case (.char("y"), _), (.char("Y"), _):
                return confirm(&state, dialog)
            case (.char(let c), _) where c == dialog.alternative?.key:
                state.overlay = nil
                return dialog.alternative?.effects ?? []
            case (.enter, _) where !dialog.cancelSelected:
                return confirm(&state, dialog)
            case (.char("n"), _), (.char("N"), _), (.enter, _), (_, .back?), (_, .quit?):
                state.overlay = nil
                return dialog.onCancel
            default:
                break
            }
            return []
        case .tagSelector(var sel):
            switch (key, action) {
            case (_, .back?), (_, .quit?):
                state.overlay = nil
            case (_, .moveDown?): sel.cursor.row += 1
            case (_, .moveUp?): sel.cursor.row -= 1
            case (_, .pageDown?): sel.cursor.row += page
            case (_, .pageUp?): sel.cursor.row -= page
            case (_, .top?): sel.cursor.row = 0
            case (_, .bottom?): sel.cursor.row = sel.tags.count
            case (.char(" "), _), (_, .toggleMark?):
                if sel.tags.indices.contains(sel.cursor.row) {
                    let t = sel.tags[sel.cursor.row].name
                    if sel.selected.contains(t) { sel.selected.remove(t) } else { sel.selected.insert(t) }
                }
            case (.enter, _):
                // Enter with nothing toggled picks the tag under the cursor.
                if sel.selected.isEmpty, sel.tags.indices.contains(sel.cursor.row) {
                    sel.selected.insert(sel.tags[sel.cursor.row].name)
                }
                state.marks = Set(state.machines.filter { !sel.selected.isDisjoint(with: $0.tags) }.map(\.name))
                state.overlay = nil
                toast(&state, "marked \(state.marks.count) machine\(state.marks.count == 1 ? "" : "s") with @\(sel.selected.sorted().joined(separator: " @"))", .info)
                return []
            default:
                break
            }
            if state.overlay != nil {
                sel.cursor.clamp(count: sel.tags.count, visible: max(1, min(sel.tags.count, state.height - 8)))
                state.overlay = .tagSelector(sel)
            }
            return []
        case .palette(var p):
            return reducePaletteKey(&state, &p, key)
        case .text(let title, let lines, let scroll):
            let page = max(1, state.height - 6)
            var s = scroll
            switch (key, action) {
            case (.enter, _), (_, .back?), (_, .quit?): state.overlay = nil; return []
            case (_, .moveDown?): s += 1
            case (_, .moveUp?): s -= 1
            case (.char(" "), _), (_, .pageDown?): s += page
            case (_, .pageUp?): s -= page
            case (_, .top?): s = 0
            case (_, .bottom?): s = lines.count
            default: return []
            }
            state.overlay = .text(title: title, lines: lines, scroll: max(0, min(s, max(0, lines.count - page))))
            return []
        case .reveal:
            state.overlay = nil   // any key closes it; the value goes with it
            return []
        case .varsPrompt(var p):
            switch key {
            case .escape:
                state.overlay = nil
                return [p.answersDeploy ? .deployAnswer(nil) : .varsPromptAnswer(nil)]
            case .enter where !p.kind.isMultiline, .ctrl("d"):
                state.overlay = nil
                return [p.answersDeploy ? .deployAnswer(p.input) : .varsPromptAnswer(p.input)]
            case .enter:
                p.input.append("\n")
            default:
                guard editLine(&p.input, key) else { return [] }
            }
            state.overlay = .varsPrompt(p)
            return []
        case .tagEdit(var t):
            switch key {
            case .escape:
                state.overlay = nil
                return []
            case .enter:
                let words = t.input.split(separator: " ").map(String.init)
                let remove = words.filter { $0.hasPrefix("-") }.map { String($0.dropFirst()) }.filter { !$0.isEmpty }
                let add = words.filter { !$0.hasPrefix("-") }.map { $0.hasPrefix("+") ? String($0.dropFirst()) : $0 }.filter { !$0.isEmpty }
                guard !(add.isEmpty && remove.isEmpty) else { state.overlay = nil; return [] }
                state.overlay = nil
                return [.editTags(machine: t.machine, add: add, remove: remove)]
            default:
                guard editLine(&t.input, key) else { return [] }
            }
            state.overlay = .tagEdit(t)
            return []
        }
    }

    static func confirm(_ state: inout AppState, _ dialog: ConfirmDialog) -> [Effect] {
        state.overlay = nil
        if dialog.quitOnConfirm { state.running = false }
        return dialog.onConfirm
    }

    /// The editing keys every input line shares; false when `key` is not one of them.
    static func editLine(_ text: inout String, _ key: Key) -> Bool {
        switch key {
        case .backspace: if !text.isEmpty { text.removeLast() }
        case .ctrl("u"): text = ""
        case .char(let c): text.append(c)
        default: return false
        }
        return true
    }

    static func reducePaletteKey(_ state: inout AppState, _ p: inout PaletteState, _ key: Key) -> [Effect] {
        let ctx = paletteContext(state)
        switch key {
        case .escape:
            state.overlay = nil
            return []
        case .enter:
            let line = String(p.input.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            guard !line.isEmpty else { state.overlay = nil; return [] }
            switch Palette.parse(line) {
            case .failure(let e):
                p.error = e.description
                state.overlay = .palette(p)
                return []
            case .success(let cmd):
                state.overlay = nil
                state.paletteHistory.removeAll { $0 == line }
                state.paletteHistory.append(line)
                if state.paletteHistory.count > 100 { state.paletteHistory.removeFirst() }
                return run(cmd, &state) + [.savePaletteHistory(state.paletteHistory)]
            }
        case .tab:
            // Shell-like: one candidate is taken; several first extend the word to what they share
            // and stay listed (`deploy @` lists the tags rather than jumping to the first one);
            // the next tab, or one after choosing with down, takes the selected candidate.
            let word = p.input.hasSuffix(" ") ? "" : String(p.input.split(separator: " ").last ?? "")
            let shared = Palette.commonPrefix(p.completions)
            if p.completions.count > 1 && !p.listed && p.selected == 0 {
                if shared.count > word.count {
                    p.input = String(p.input.dropLast(word.count)) + shared
                }
                p.listed = true
                p.completions = Palette.completions(for: p.input, context: ctx)
                state.overlay = .palette(p)
                return []
            }
            if p.completions.indices.contains(p.selected) {
                p.input = Palette.apply(p.completions[p.selected], to: p.input)
                p.selected = 0
            }
        case _ where !key.isText && key != .up && [.moveDown, .moveUp].contains(state.keyMap.overlayAction(for: key)):
            // The key map's move keys (down, or e.g. a `[keys]` ctrl-n) walk the completions;
            // printable keys are text here.
            if !p.completions.isEmpty {
                let step = state.keyMap.overlayAction(for: key) == .moveDown ? 1 : p.completions.count - 1
                p.selected = (p.selected + step) % p.completions.count
            }
            state.overlay = .palette(p)
            return []
        case .up:
            // Up walks back through history.
            guard !state.paletteHistory.isEmpty else { return [] }
            let i = max(0, (p.historyIndex ?? state.paletteHistory.count) - 1)
            p.historyIndex = i
            p.input = state.paletteHistory[i]
        case .backspace:
            if p.input.isEmpty { state.overlay = nil; return [] }
            p.input.removeLast()
        case .ctrl("u"):
            p.input = ""
        case .char(let c):
            p.input.append(c)
        default:
            return []
        }
        p.error = nil
        p.listed = false
        p.completions = Palette.completions(for: p.input, context: ctx)
        p.selected = min(p.selected, max(0, p.completions.count - 1))
        state.overlay = .palette(p)
        return []
    }

    /// Runs a palette command: most map onto the same actions as keys.
    static func run(_ cmd: PaletteCommand, _ state: inout AppState) -> [Effect] {
        let machines = state.machines.map { (name: $0.name, tags: $0.tags) }
        switch cmd {
        case .quit: return reduceAction(&state, .quit)
        case .help: return reduceAction(&state, .help)
        case .reload: return reduceAction(&state, .reload)
        case .tab(let t): state.tab = t; return []
        case .theme(let name): return [.loadTheme(name)]
        case .filter(let q):
            state.filters[state.tab] = q
            state.recomputeFleetRows()
            setCursor(&state, 0)
            return []
        case .clearMarks: state.marks.removeAll(); return []
        case .mark(let targets):
            switch Palette.resolveTargets(targets, machines: machines) {
            case .failure(let e): toast(&state, e.description, .error)
            case .success(let names): state.marks.formUnion(names)
            }
            return []
        case .deploy(let targets):
            if targets.isEmpty { return reduceAction(&state, .deploy) }
            switch Palette.resolveTargets(targets, machines: machines) {
            case .failure(let e):
                toast(&state, e.description, .error)
                return []
            case .success(let names):
                guard !state.deployRunning else { toast(&state, "a deploy is already running", .error); return [] }
                state.overlay = .confirm(deployConfirmation(state, names))
                return []
            }
        case .rollback(let targets):
            if targets.isEmpty { return reduceAction(&state, .rollback) }
            switch Palette.resolveTargets(targets, machines: machines) {
            case .failure(let e): toast(&state, e.description, .error)
            case .success(let names): offerRollback(&state, names)
            }
            return []
        case .retry:
            return reduceAction(&state, .retryFailed)
        case .dryRun(let targets):
            if targets.isEmpty { return reduceAction(&state, .dryRun) }
            switch Palette.resolveTargets(targets, machines: machines) {
            case .failure(let e):
                toast(&state, e.description, .error)
                return []
            case .success(let names): return [.dryRun(machines: names)]
            }
        case .varsGenerate(let m): return [.varsPlan(VarsIntent(kind: .generate, machine: m, generator: nil))]
        case .varsRotate(let g, let m): return [.varsPlan(VarsIntent(kind: .rotate, machine: m, generator: g))]
        case .varsFix(let m): return [.varsFix(machine: m)]
        }
    }
}
