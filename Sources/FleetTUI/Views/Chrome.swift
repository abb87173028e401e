import FleetModel

/// The frame around every screen: header with fleet name and source (DEMO badge), tab bar,
/// and the status bar with the current screen's keys.
enum Chrome {
    static func header(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        buf.fill(Rect(x: 0, y: 0, width: buf.width, height: 1), style: t.header)
        let name = state.inventory?.meta.name ?? "…"
        let count = state.inventory.map { "\($0.machines.count) machines" } ?? "loading"
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

    static func tabs(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        buf.fill(Rect(x: 0, y: 1, width: buf.width, height: 1), style: t.base)
        var x = 1
        let full = Tab.allCases.reduce(1) { $0 + DisplayWidth.of(" \($1.rawValue) \($1.title) ") + 1 }
        let short = full > buf.width
        for tab in Tab.allCases {
            let label = " \(tab.rawValue) \(short ? tab.shortTitle : tab.title) "
            x = buf.put(label, x: x, y: 1, style: tab == state.tab ? t.tabActive : t.tabInactive)
            x += 1
        }
    }

    /// Key hints: pairs of (key, what it does), drawn until the width runs out.
    static func statusBar(_ hints: [(String, String)], message: String? = nil, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let t = ctx.theme
        let y = buf.height - 1
        buf.fill(Rect(x: 0, y: y, width: buf.width, height: 1), style: t.statusBar)
        var x = 1
        for (key, what) in hints {
            let need = DisplayWidth.of(key) + 1 + DisplayWidth.of(what) + 2
            if x + need > buf.width - 1 { break }
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
