import FleetModel

/// Tab 3: one row per host with stage, where it builds (BUILDS ON: local, target, or the build host), progress bar, elapsed/ETA and the last log line; enter
/// opens the host's full log (following new lines).
enum DeployView {
    static func bar(_ fraction: Double?, width: Int, ctx: RenderContext) -> String {
        guard width > 2 else { return "" }
        guard let f = fraction else { return String(repeating: ctx.glyphs == .unicode ? "·" : ".", count: width) }
        let filled = Int((max(0, min(1, f)) * Double(width)).rounded())
        return String(repeating: ctx.glyphs == .unicode ? "█" : "#", count: filled)
            + String(repeating: ctx.glyphs == .unicode ? "░" : "-", count: width - filled)
    }

    static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.0fs", s) : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }

    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let d = state.deploy
        if d.rows.isEmpty {
            let lines = [
                "No deploy yet.",
                "Mark machines on the Fleet screen (space, a, or @tag) and press d, or use :deploy @tag.",
                "Each host goes resolve → connect → secrets → build → copy → activate → verify, in parallel.",
            ]
            for (i, l) in lines.enumerated() {
                buf.put(l, x: area.x + 2, y: area.y + 1 + i, style: i == 0 ? ctx.theme.base : ctx.theme.dim, clip: area)
            }
            return
        }
        var tableArea = area
        if let host = d.logHost {
            let logHeight = max(5, area.height / 2)
            tableArea = Rect(x: area.x, y: area.y, width: area.width, height: area.height - logHeight)
            renderLog(host, lines: d.logs[host] ?? [], state: state, into: &buf,
                      area: Rect(x: area.x, y: tableArea.maxY, width: area.width, height: logHeight), ctx: ctx)
        }
        var header = d.summary ?? "\(d.kind.rawValue) \(d.runID ?? "") \(ctx.glyphs.separator) running"
        if !d.failedHosts.isEmpty && !state.deployRunning { header += "  (R retries \(d.failedHosts.count) failed)" }
        buf.put(" " + header, x: tableArea.x, y: tableArea.y, style: d.summary == nil ? ctx.theme.accent : ctx.theme.tableHeader, clip: tableArea)
        let listArea = Rect(x: tableArea.x, y: tableArea.y + 1, width: tableArea.width, height: tableArea.height - 1)
        let cols = [
            TableColumn("HOST", .fixed(10)),
            TableColumn("STATE", .fixed(9)),
            TableColumn("STAGE", .fixed(8)),
            TableColumn("BUILDS ON", .fixed(12)),
            TableColumn("PROGRESS", .fixed(12)),
            TableColumn("TIME", .fixed(12)),
            TableColumn("LAST", .flex(weight: 1, min: 10)),
        ]
        let rows = d.rows
        let now = state.clock
        var cursor = state.cursor(.deploy)
        cursor.clamp(count: rows.count, visible: listArea.height - 1)
        let table = TableView(columns: cols, rowCount: rows.count, cursor: cursor) { r, c in
            let row = rows[r]
            switch c {
            case 0: return (row.host, ctx.theme.accent)
            case 1:
                let style: Style
                switch row.state {
                case .ok: style = ctx.theme.ok
                case .failed: style = ctx.theme.error
                case .cancelled: style = ctx.theme.warn
                case .running: style = ctx.theme.accent
                case .pending: style = ctx.theme.dim
                }
                return (row.state.rawValue, style)
            case 2: return (row.stage?.rawValue ?? "", nil)
            case 3: return (row.buildsOn ?? "", ctx.theme.dim)
            case 4:
                if row.state == .running {
                    // Without a measured fraction, show elapsed time against the ETA from history.
                    var f = row.fraction
                    if f == nil, let eta = row.stageETA, eta > 0, let s = row.stageStartedAt { f = min(0.95, (now - s) / eta) }
                    return (bar(f, width: 12, ctx: ctx), ctx.theme.accent)
                }
                return (row.state == .ok ? bar(1, width: 12, ctx: ctx) : "", row.state == .ok ? ctx.theme.ok : nil)
            case 5:
                if let s = row.seconds { return (duration(s), nil) }
                guard let start = row.startedAt else { return ("", nil) }
                var t = duration(max(0, now - start))
                if let eta = row.stageETA, let ss = row.stageStartedAt { t += " /~" + duration(max(0, eta - (now - ss))) }
                return (t, nil)
            default:
                return (row.error ?? row.message, row.error == nil ? ctx.theme.dim : ctx.theme.error)
            }
        }
        table.render(into: &buf, area: listArea, ctx: ctx)
    }

    static let stageHeaderPrefix = "── "

    /// The line a stage's log starts with, so the pane reads stage by stage.
    static func stageHeader(_ stage: DeployStage) -> String { stageHeaderPrefix + stage.rawValue + " ──" }

    static func renderLog(_ host: String, lines: [String], state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let following = state.deploy.logScroll == nil
        let query = state.filters[.deploy] ?? ""
        let matcher = FilterMatcher(query: query)
        let mode = following ? "following" : "at line \((state.deploy.logScroll ?? 0) + 1)/\(lines.count)"
        let search = matcher.isEmpty ? "/ search" : "/\(query): n/N next/prev"
        Box.draw(&buf, area, title: "log of \(host) \(ctx.glyphs.dash) \(mode), \(search), y copies, esc closes", ctx: ctx)
        let inner = Rect(x: area.x + 2, y: area.y + 1, width: area.width - 4, height: area.height - 2)
        let shown: ArraySlice<String>
        if let top = state.deploy.logScroll, !lines.isEmpty {
            let start = min(max(0, top), lines.count - 1)
            shown = lines[start..<min(lines.count, start + inner.height)]
        } else {
            shown = lines.suffix(inner.height)
        }
        for (i, l) in shown.enumerated() {
            let text = DisplayWidth.truncate(l, to: inner.width, ellipsis: ctx.glyphs.ellipsis)
            let style = l.hasPrefix(stageHeaderPrefix) ? ctx.theme.accent
                : (l.contains("failed") || l.contains("error") ? ctx.theme.error : ctx.theme.base)
            buf.put(text, x: inner.x, y: inner.y + i, style: style, clip: inner)
            if !matcher.isEmpty {
                let chars = Array(text)
                for range in matcher.highlights(in: text) where range.upperBound <= chars.count {
                    let col = inner.x + DisplayWidth.of(String(chars[0..<range.lowerBound]))
                    buf.restyle(x: col, y: inner.y + i, width: DisplayWidth.of(String(chars[range]))) { $0 = ctx.theme.match }
                }
            }
        }
    }
}
