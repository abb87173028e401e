import FleetModel

/// Renders the whole screen for a state: a pure function from (state, theme) to a buffer.
public enum AppView {
    public static func render(_ state: AppState) -> ScreenBuffer {
        let ctx = RenderContext(theme: state.theme, glyphs: state.glyphs)
        var buf = ScreenBuffer(width: state.width, height: state.height)
        if Layout.isTooSmall(width: state.width, height: state.height) {
            renderTooSmall(state, into: &buf, ctx: ctx)
            return buf
        }
        Chrome.header(state, into: &buf, ctx: ctx)
        Chrome.tabs(state, into: &buf, ctx: ctx)
        let body = Rect(x: 0, y: 2, width: buf.width, height: buf.height - 3)
        switch state.tab {
        case .fleet:
            FleetView.render(state, into: &buf, area: body, ctx: ctx)
        case .services:
            ServicesView.render(state, into: &buf, area: body, ctx: ctx)
        case .network:
            NetworkView.render(state, into: &buf, area: body, ctx: ctx)
        case .vars:
            VarsView.render(state, into: &buf, area: body, ctx: ctx)
        case .deploy:
            DeployView.render(state, into: &buf, area: body, ctx: ctx)
        case .history:
            HistoryView.render(state, into: &buf, area: body, ctx: ctx)
        }
        if !Chrome.filterBar(state, into: &buf, ctx: ctx) {
            Chrome.statusBar(state.keyMap.hints(for: state.tab), message: position(state), into: &buf, ctx: ctx)
        }
        Overlays.render(state, into: &buf, ctx: ctx)
        return buf
    }

    static func position(_ state: AppState) -> String? {
        guard state.tab == .fleet else { return nil }
        let n = state.fleetRows.count
        return n == 0 ? nil : "\(state.cursor(.fleet).row + 1)/\(n)"
    }

    static func renderTooSmall(_ state: AppState, into buf: inout ScreenBuffer, ctx: RenderContext) {
        let lines = [
            "Terminal too small",
            "\(state.width)x\(state.height), need \(Layout.minWidth)x\(Layout.minHeight)",
            "Enlarge the window or press q to quit.",
        ]
        let top = max(0, (buf.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            let t = DisplayWidth.truncate(line, to: buf.width, ellipsis: ctx.glyphs.ellipsis)
            let x = max(0, (buf.width - DisplayWidth.of(t)) / 2)
            buf.put(t, x: x, y: top + i, style: i == 0 ? ctx.theme.warn : ctx.theme.base)
        }
    }
}
