import FleetModel

/// Tab 6: past deploys from the history database, newest first, with each host's result.
enum HistoryView {
    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        if state.history.isEmpty {
            let msg = state.historyError.map { "History: \($0)" } ?? "No deploys recorded yet."
            buf.put(msg, x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        let entries = state.history
        let detailHeight = min(max(3, area.height / 3), 10)
        let listArea = Rect(x: area.x, y: area.y, width: area.width, height: area.height - detailHeight)
        let cols = [
            TableColumn("STARTED", .fixed(19)),
            TableColumn("KIND", .fixed(9)),
            TableColumn("HOSTS", .fixed(5)),
            TableColumn("RESULT", .fixed(16)),
            TableColumn("TIME", .fixed(8)),
            TableColumn("ID", .flex(weight: 1, min: 8)),
        ]
        var cursor = state.cursor(.history)
        cursor.clamp(count: entries.count, visible: listArea.height - 1)
        let table = TableView(columns: cols, rowCount: entries.count, cursor: cursor) { r, c in
            let e = entries[r]
            switch c {
            case 0: return (e.startedAt, nil)
            case 1: return (e.kind, ctx.theme.dim)
            case 2: return ("\(e.hosts)", nil)
            case 3:
                if e.cancelled { return ("cancelled", ctx.theme.warn) }
                guard let f = e.failed else { return ("unfinished", ctx.theme.warn) }
                return (f == 0 ? "ok" : "\(f) failed", f == 0 ? ctx.theme.ok : ctx.theme.error)
            case 4: return (e.seconds.map { DeployView.duration($0) } ?? "", nil)
            default: return (e.id, ctx.theme.dim)
            }
        }
        table.render(into: &buf, area: listArea, ctx: ctx)
        let y = listArea.maxY
        buf.put(String(repeating: ctx.glyphs.horizontal, count: area.width), x: area.x, y: y, style: ctx.theme.border)
        if entries.indices.contains(cursor.row) {
            for (i, l) in entries[cursor.row].hostLines.prefix(detailHeight - 1).enumerated() {
                buf.put(" " + l, x: area.x, y: y + 1 + i, style: l.contains("failed") ? ctx.theme.error : ctx.theme.base, clip: area)
            }
        }
    }
}
