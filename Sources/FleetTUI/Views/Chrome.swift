import FleetModel

/// The frame around every screen: header with fleet name and source (DEMO badge), tab bar,
/// and the status bar with the current screen's keys.
enum Chrome {
    static func header(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        buf.fill(Rect(x: 0, y: 0, width: buf.width, height: 1), style: t.header)
        let name = state.inventory?.meta.name ?? "loading"
        let count = state.loaded.map { "\($0.machineCount) machines" } ?? "loading"
        let sep = " \(ctx.glyphs.separator) "
        var x = buf.put(" fleet", x: 0, y: 0, style: t.header)
        x = buf.put(sep + name + sep + count, x: x, y: 0, style: t.header)
        let badge: String
        switch state.source {
        case .demo: badge = " DEMO "
        case .flake(let p): badge = " flake: \(p) "
        case .directory(let p): badge = " dir: \(p) "
        }
        let bw = DisplayWidth.of(badge)
        let bx = max(x + 1, buf.width - bw - 1)
        buf.put(badge, x: bx, y: 0, style: state.source.isDemo ? t.badge : t.header)
    }

    /// Tab labels and where each starts, for drawing and for mouse clicks.
    static func tabLayout(width: Int) -> [(tab: Tab, label: String, x: Int)] {
        let full = Tab.allCases.reduce(1) { $0 + DisplayWidth.of(" \($1.rawValue) \($1.title) ") + 1 }
        let short = full > width
        var x = 1
        var out: [(Tab, String, Int)] = []
        for tab in Tab.allCases {
            let label = " \(tab.rawValue) \(short ? tab.shortTitle : tab.title) "
            out.append((tab, label, x))
            x += DisplayWidth.of(label) + 1
        }
        return out
    }

    static func tab(atColumn col: Int, width: Int) -> Tab? {
        tabLayout(width: width).first { col >= $0.x && col < $0.x + DisplayWidth.of($0.label) }?.tab
    }

    static func tabs(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        buf.fill(Rect(x: 0, y: 1, width: buf.width, height: 1), style: t.base)
        for (tab, label, x) in tabLayout(width: buf.width) {
            buf.put(label, x: x, y: 1, style: tab == state.tab ? t.tabActive : t.tabInactive)
        }
        // Marks and an active filter are shown at the right of the tab bar.
        var info: [String] = []
        if !state.marks.isEmpty { info.append("\(state.marks.count) marked") }
        if state.revalidating { info.append("revalidating…") }
        if !info.isEmpty {
            let s = info.joined(separator: " \(ctx.glyphs.separator) ") + " "
            let x = buf.width - DisplayWidth.of(s)
            if x > (tabLayout(width: buf.width).last.map { $0.x + DisplayWidth.of($0.label) } ?? 0) + 1 {
                buf.put(s, x: x, y: 1, style: t.marked)
            }
        }
    }

    /// The filter line replaces the status bar while typing or while a filter is active.
    static func filterBar(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) -> Bool {
        let q = state.filters[state.tab] ?? ""
        guard state.filterEditing || !q.isEmpty else { return false }
        let y = buf.height - 1
        buf.fill(Rect(x: 0, y: y, width: buf.width, height: 1), style: ctx.theme.statusBar)
        var x = buf.put(" /", x: 0, y: y, style: ctx.theme.statusKey)
        x = buf.put(q, x: x, y: y, style: ctx.theme.statusBar)
        if state.filterEditing { buf.put(ctx.glyphs.caret, x: x, y: y, style: ctx.theme.statusKey) }
        let n = state.tab == .fleet ? "\(state.fleetRows.count)/\(state.machines.count)" : ""
        let help = state.filterEditing ? "enter keep  esc clear  \(n) " : "/ edit  esc clear  \(n) "
        buf.put(help, x: max(x + 2, buf.width - DisplayWidth.of(help)), y: y, style: ctx.theme.statusBar)
        return true
    }

    /// Key hints: pairs of (key, what it does), drawn until the width runs out.
    static func statusBar(_ hints: [(String, String)], message: String? = nil, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        let y = buf.height - 1
        buf.fill(Rect(x: 0, y: y, width: buf.width, height: 1), style: t.statusBar)
        var x = 1
        // The message (position, counts) is short and always shown; hints fill what is left.
        let reserved = message.map { DisplayWidth.of($0) + 2 } ?? 0
        for (key, what) in hints {
            let need = DisplayWidth.of(key) + 1 + DisplayWidth.of(what) + 2
            if x + need > buf.width - 1 - reserved { break }
            x = buf.put(key, x: x, y: y, style: t.statusKey)
            x = buf.put(" " + what, x: x, y: y, style: t.statusBar)
            x += 2
        }
        if let message {
            let m = DisplayWidth.truncate(message, to: max(0, buf.width - x - 1), ellipsis: ctx.glyphs.ellipsis)
            buf.put(m, x: buf.width - DisplayWidth.of(m) - 1, y: y, style: t.statusBar)
        }
    }
}
