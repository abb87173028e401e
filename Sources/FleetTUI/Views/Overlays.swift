import FleetModel

/// Help, palette, tag selector, confirmation dialog and toasts, drawn over the current screen.
enum Overlays {
    static func render(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let area = Rect(x: 0, y: 1, width: buf.width, height: buf.height - 2)
        switch state.overlay {
        case .help(let scroll)?: help(state, scroll: scroll, into: &buf, area: area, ctx: ctx)
        case .palette(let p)?: palette(p, into: &buf, area: area, ctx: ctx)
        case .tagSelector(let sel)?: tagSelector(sel, into: &buf, area: area, ctx: ctx)
        case .confirm(let d)?: confirm(d, keyMap: state.keyMap, into: &buf, area: area, ctx: ctx)
        case .tagEdit(let t)?: tagEdit(t, into: &buf, area: area, ctx: ctx)
        case .varsPrompt(let p)?: varsPrompt(p, into: &buf, area: area, ctx: ctx)
        case .reveal(let title, let value)?: reveal(title, value, into: &buf, area: area, ctx: ctx)
        case .text(let title, let lines, let scroll)?: text(title, lines, scroll, keyMap: state.keyMap, into: &buf, area: area, ctx: ctx)
        case nil: break
        }
        toasts(state.toasts, into: &buf, ctx: ctx)
    }

    /// What a screen shows or does that no binding says (legends, what enter opens), under its keys.
    static let screenNotes: [Tab: [String]] = [
        .services: ["● holds the role by name   ○ holds it through a tag   · not a member",
                    "/ filters instances and machines; j/k move"],
        .deploy: ["enter opens the host's log pane; it follows the cursor (j/k) and new lines",
                  "esc closes the log pane"],
        .network: ["one row per member of each zerotier network: roles, overlay IP and the vars it was read from",
                   "/ filters by machine, network, role or IP"],
        .history: ["enter opens the run's recorded log (j/k, pgup/pgdn scroll; esc closes)"],
    ]

    /// Every binding of the key map, grouped by scope: generated, so it cannot drift from the keys.
    /// Long summaries wrap under themselves (`width` is the text width; the key column takes 17).
    static func helpLines(_ keyMap: KeyMap, width: Int = 68) -> [(String, String, Bool)] {
        var scopes: [KeyScope] = [.global]
        for t in Tab.allCases where keyMap.bindings.contains(where: { $0.scope == .screen(t) }) || screenNotes[t] != nil {
            scopes.append(.screen(t))
        }
        var lines: [(String, String, Bool)] = []
        let textWidth = max(10, width - 17)
        for scope in scopes {
            if !lines.isEmpty { lines.append(("", "", false)) }
            lines.append((scope.title, "", true))
            for b in keyMap.bindings where b.scope == scope && !b.keys.isEmpty {
                for (i, part) in FleetView.wrap(b.action.summary, width: textWidth).enumerated() {
                    lines.append((i == 0 ? b.keys.map(KeyMap.label).joined(separator: " ") : "", part, false))
                }
            }
            if case .screen(let t) = scope {
                for note in screenNotes[t] ?? [] {
                    for (i, part) in FleetView.wrap(note, width: width - 2).enumerated() { lines.append(((i == 0 ? "" : "  ") + part, "", false)) }
                }
            }
        }
        // Dialogs and lists over the screens take the same move and close keys (KeyMap.overlayAction).
        lines += [("", "", false), ("Dialogs and lists", "", true)]
        // One action per line: both directions' keys together overflow the 16-column key field.
        for (actions, text) in [([Action.moveDown], "move the cursor / scroll down"), ([.moveUp], "move the cursor / scroll up"),
                                ([.pageDown], "page down"), ([.pageUp], "page up"),
                                ([.back, .quit], "close; cancel a confirmation")] {
            let keys = actions.flatMap { keyMap.keys(for: $0) }
            if !keys.isEmpty { lines.append((keys.map(KeyMap.label).joined(separator: " "), text, false)) }
        }
        lines.append(("y n enter", "confirm / cancel / take the choice under the cursor", false))
        return lines
    }

    /// "j/k" for the help and log titles, from the key map.
    static func scrollKeys(_ keyMap: KeyMap) -> String {
        [Action.moveDown, .moveUp].compactMap { keyMap.keys(for: $0).first.map(KeyMap.label) }.joined(separator: "/")
    }

    static func help(_ state: AppState, scroll: Int, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let box = Box.centered(width: 72, height: area.height, in: area)
        let lines = helpLines(state.keyMap, width: box.width - 4)
        Box.draw(&buf, box, title: "Keys \(ctx.glyphs.dash) esc closes, \(scrollKeys(state.keyMap)) scroll", ctx: ctx)
        let inner = Rect(x: box.x + 2, y: box.y + 1, width: box.width - 4, height: box.height - 2)
        let start = min(scroll, max(0, lines.count - inner.height))
        for (i, line) in lines.dropFirst(start).prefix(inner.height).enumerated() {
            let y = inner.y + i
            if line.2 {
                buf.put(line.0, x: inner.x, y: y, style: ctx.theme.tableHeader, clip: inner)
            } else if line.1.isEmpty {
                buf.put(line.0, x: inner.x, y: y, style: ctx.theme.dim, clip: inner)   // a screen note
            } else {
                buf.put(DisplayWidth.pad(line.0, to: 16), x: inner.x, y: y, style: ctx.theme.accent, clip: inner)
                buf.put(line.1, x: inner.x + 17, y: y, style: ctx.theme.base, clip: inner)
            }
        }
    }

    static func palette(_ p: PaletteState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let shown = min(p.completions.count, 8)
        let h = 3 + shown + (p.error == nil ? 0 : 1) + (shown > 0 ? 1 : 0)
        let box = Rect(x: area.x + 2, y: area.y + 1, width: min(70, area.width - 4), height: h)
        Box.draw(&buf, box, title: "Command \(ctx.glyphs.dash) tab completes, up: history, enter runs", ctx: ctx)
        let x = box.x + 2
        var y = box.y + 1
        let end = buf.put(":" + p.input, x: x, y: y, style: ctx.theme.base, clip: box)
        buf.put(ctx.glyphs.caret, x: end, y: y, style: ctx.theme.accent, clip: box)
        y += 1
        if let e = p.error {
            buf.put(e, x: x, y: y, style: ctx.theme.error, clip: box)
            y += 1
        }
        if shown > 0 {
            y += 1
            for (i, c) in p.completions.prefix(8).enumerated() {
                let style = i == p.selected ? ctx.theme.cursor : ctx.theme.dim
                buf.put(DisplayWidth.pad(" " + c, to: box.width - 4), x: x, y: y, style: style, clip: box)
                y += 1
            }
        }
    }

    static func tagSelector(_ sel: TagSelectorState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let box = Box.centered(width: 44, height: min(sel.tags.count + 4, area.height), in: area)
        Box.draw(&buf, box, title: "Select by tag \(ctx.glyphs.dash) space toggles, enter marks", ctx: ctx)
        let inner = Rect(x: box.x + 2, y: box.y + 1, width: box.width - 4, height: box.height - 3)
        var cursor = sel.cursor
        cursor.clamp(count: sel.tags.count, visible: inner.height)
        for i in 0..<inner.height {
            let r = cursor.offset + i
            guard r < sel.tags.count else { break }
            let tag = sel.tags[r]
            let check = sel.selected.contains(tag.name) ? "[x]" : "[ ]"
            let text = "\(check) @\(tag.name)"
            let count = "\(tag.count)"
            let style = r == cursor.row ? ctx.theme.cursor : (sel.selected.contains(tag.name) ? ctx.theme.marked : ctx.theme.base)
            buf.put(DisplayWidth.pad(text, to: inner.width - count.count - 1) + " " + count, x: inner.x, y: inner.y + i,
                    style: style, clip: inner)
        }
        let sum = "\(sel.selected.count) selected"
        buf.put(sum, x: inner.x, y: box.maxY - 2, style: ctx.theme.dim, clip: box)
    }

    static func tagEdit(_ t: TagEditState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let box = Box.centered(width: 64, height: 7, in: area)
        Box.draw(&buf, box, title: "Tags of \(t.machine)", ctx: ctx)
        buf.put("now: " + (t.currentTags.isEmpty ? "(none)" : t.currentTags.joined(separator: " ")), x: box.x + 2, y: box.y + 1,
                style: ctx.theme.dim, clip: box)
        let end = buf.put("> " + t.input, x: box.x + 2, y: box.y + 3, style: ctx.theme.base, clip: box)
        buf.put(ctx.glyphs.caret, x: end, y: box.y + 3, style: ctx.theme.accent, clip: box)
        buf.put("words add, -word removes; enter writes inventory.json", x: box.x + 2, y: box.y + 5, style: ctx.theme.warn, clip: box)
    }

    /// Hidden prompts show one bullet per character and nothing else: the answer never reaches the screen.
    static func varsPrompt(_ p: VarsPromptState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let box = Box.centered(width: 70, height: 8, in: area)
        Box.draw(&buf, box, title: "Prompt: \(p.title)", ctx: ctx)
        buf.put(DisplayWidth.truncate(p.question, to: box.width - 4, ellipsis: ctx.glyphs.ellipsis), x: box.x + 2, y: box.y + 1,
                style: ctx.theme.base, clip: box)
        let shown: String
        if p.kind.isHidden {
            shown = String(repeating: ctx.glyphs == .unicode ? "•" : "*", count: min(p.input.count, box.width - 8))
        } else {
            shown = p.input.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        }
        let end = buf.put("> " + shown, x: box.x + 2, y: box.y + 3, style: ctx.theme.base, clip: box)
        buf.put(ctx.glyphs.caret, x: end, y: box.y + 3, style: ctx.theme.accent, clip: box)
        let lines = p.input.filter { $0 == "\n" }.count
        let help = p.kind.isMultiline ? "enter new line (\(lines) so far), ctrl-d done, esc cancels" : "enter done, esc cancels"
        buf.put(help, x: box.x + 2, y: box.y + 5, style: ctx.theme.warn, clip: box)
    }

    static func text(_ title: String, _ lines: [String], _ scroll: Int, keyMap: KeyMap, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let box = Box.centered(width: area.width - 2, height: area.height, in: area)
        Box.draw(&buf, box, title: "\(title) \(ctx.glyphs.dash) \(scrollKeys(keyMap)) scroll, esc closes", ctx: ctx)
        let inner = Rect(x: box.x + 2, y: box.y + 1, width: box.width - 4, height: box.height - 2)
        for (i, l) in lines.dropFirst(scroll).prefix(inner.height).enumerated() {
            let style = l.hasPrefix("== ") ? ctx.theme.tableHeader : (l.contains("failed") ? ctx.theme.error : ctx.theme.base)
            buf.put(DisplayWidth.truncate(l, to: inner.width, ellipsis: ctx.glyphs.ellipsis), x: inner.x, y: inner.y + i, style: style, clip: inner)
        }
    }

    static func reveal(_ title: String, _ value: String, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let lines = value.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let box = Box.centered(width: min(100, area.width - 4), height: min(lines.count + 4, area.height), in: area)
        Box.draw(&buf, box, title: "\(title) \(ctx.glyphs.dash) any key hides it", ctx: ctx)
        for (i, l) in lines.prefix(box.height - 3).enumerated() {
            buf.put(l, x: box.x + 2, y: box.y + 1 + i, style: ctx.theme.warn, clip: box)
        }
    }

    static func confirm(_ d: ConfirmDialog, keyMap: KeyMap, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let hint = "y/n, \(scrollKeys(keyMap)) choose"
        let buttons = ["[ \(d.confirmLabel) ]", "[ cancel ]"]
        let alt = d.alternative.map { "\($0.key) \($0.label)" }
        // Buttons, the alternative and the key hint on one line when they fit (the dialog grows for
        // them up to the screen); else the hint gets a line of its own rather than being cut.
        let footer = DisplayWidth.of(buttons.joined(separator: "  ")) + (alt.map { 3 + DisplayWidth.of($0) } ?? 0)
        let oneLine = footer + 3 + DisplayWidth.of(hint)
        let width = min(max(64, oneLine + 4), area.width - 4)
        let hintApart = oneLine > width - 4
        var body: [String] = []
        for l in d.lines { body += FleetView.wrap(l, width: width - 4) }
        let box = Box.centered(width: width, height: body.count + 5 + (hintApart ? 1 : 0), in: area)
        Box.draw(&buf, box, title: d.title, ctx: ctx)
        for (i, l) in body.enumerated() {
            buf.put(l, x: box.x + 2, y: box.y + 1 + i, style: ctx.theme.base, clip: box)
        }
        // The two choices; enter takes the highlighted one, the move keys switch.
        let y = box.maxY - 2
        var x = buf.put(buttons[0], x: box.x + 2, y: y, style: d.cancelSelected ? ctx.theme.base : ctx.theme.cursor, clip: box)
        x = buf.put(buttons[1], x: x + 2, y: y, style: d.cancelSelected ? ctx.theme.cursor : ctx.theme.base, clip: box)
        if let alt { x = buf.put(alt, x: x + 3, y: y, style: ctx.theme.accent, clip: box) }
        if hintApart {
            buf.put(hint, x: box.x + 2, y: y - 1, style: ctx.theme.warn, clip: box)
        } else {
            buf.put(hint, x: x + 3, y: y, style: ctx.theme.warn, clip: box)
        }
    }

    static func toasts(_ toasts: [Toast], into buf: inout ScreenBuffer, ctx: RenderContext) {
        // Newest at the bottom right, above the status bar; long messages (errors naming a file,
        // key and line) wrap to at most three lines rather than losing their end.
        var y = buf.height - 2
        let width = max(10, min(buf.width - 4, 100))
        for t in toasts.reversed() where y > 2 {
            var style: Style
            switch t.kind {
            case .info: style = ctx.theme.accent
            case .success: style = ctx.theme.ok
            case .error: style = ctx.theme.error
            }
            style.reverse = !style.reverse
            var lines = FleetView.wrap(t.text, width: width - 2)
            if lines.count > 3 {
                lines = Array(lines.prefix(3))
                lines[2] = DisplayWidth.truncate(lines[2] + " " + ctx.glyphs.ellipsis, to: width - 2, ellipsis: ctx.glyphs.ellipsis)
            }
            let w = lines.map { DisplayWidth.of($0) }.max() ?? 0
            for line in lines.reversed() where y > 2 {
                buf.put(" " + DisplayWidth.pad(line, to: w) + " ", x: max(0, buf.width - w - 3), y: y, style: style)
                y -= 1
            }
        }
    }
}
