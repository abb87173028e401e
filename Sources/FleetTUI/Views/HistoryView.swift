import FleetModel

/// Tab 6: past deploys from the history database, newest first, with each host's result.
enum HistoryView {
    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let all = state.historyAllFleets
        buf.put(" " + (all ? "Deploys of every fleet (a: only this fleet)" : "Deploys of this fleet (a: every fleet)"),
                x: area.x, y: area.y, style: ctx.theme.tableHeader, clip: area)
        let body = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1)
        if state.history.isEmpty {
            let msg = state.historyError.map { "History: \($0)" } ?? (all ? "No deploys recorded yet." : "No deploys of this fleet recorded yet.")
            buf.put(msg, x: body.x + 2, y: body.y + 1, style: ctx.theme.dim, clip: body)
            return
        }
        let entries = state.history
        let detailHeight = min(max(3, body.height / 3), 10)
        let listArea = Rect(x: body.x, y: body.y, width: body.width, height: body.height - detailHeight)
        var cols = [
            TableColumn("STARTED", .fixed(19)),
            TableColumn("KIND", .fixed(9)),
            TableColumn("HOSTS", .fixed(5)),
            TableColumn("RESULT", .fixed(16)),
            TableColumn("TIME", .fixed(8)),
            TableColumn("ID", .flex(weight: 1, min: 8)),
        ]
        if all { cols.append(TableColumn("FLEET", .flex(weight: 2, min: 10))) }
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
            case 5: return (e.id, ctx.theme.dim)
            default:
                // The directory's name says which fleet; the whole path rarely fits.
                return (e.fleet.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "(before per-fleet history)", ctx.theme.dim)
            }
        }
        table.render(into: &buf, area: listArea, ctx: ctx)
        let y = listArea.maxY
        buf.put(String(repeating: ctx.glyphs.horizontal, count: body.width), x: body.x, y: y, style: ctx.theme.border)
        if entries.indices.contains(cursor.row) {
            for (i, l) in entries[cursor.row].hostLines.prefix(detailHeight - 1).enumerated() {
                buf.put(" " + l, x: body.x, y: y + 1 + i, style: l.contains("failed") ? ctx.theme.error : ctx.theme.base, clip: body)
            }
        }
    }
}
