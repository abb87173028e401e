import FleetModel

/// Tab 4: per machine and shared, generators → files with status colours, owner/mode, neededFor,
/// recipients and public values; the selected row's details; the live output of a running job.
enum VarsView {
    static func style(_ s: VarsRow.Status, ctx: RenderContext) -> Style {
        switch s {
        case .ok: return ctx.theme.ok
        case .missing: return ctx.theme.error
        case .unfixed, .outdated: return ctx.theme.warn
        case .undecryptable: return ctx.theme.accent
        case .orphan: return ctx.theme.marked
        case .info: return ctx.theme.dim
        }
    }

    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        guard state.vars != nil else {
            let msg = state.varsError.map { "Cannot read vars: \($0)" } ?? "Reading vars…"
            var y = area.y + 1
            for line in FleetView.wrap(msg, width: area.width - 4) {
                buf.put(line, x: area.x + 2, y: y, style: state.varsError == nil ? ctx.theme.dim : ctx.theme.error, clip: area)
                y += 1
            }
            return
        }
        // Bottom: info line for the selected row, and the job output when there is one.
        let jobHeight = state.varsJob == nil ? 0 : min(8, max(3, area.height / 3))
        let infoHeight = 2
        let tableArea = Rect(x: area.x, y: area.y, width: area.width, height: area.height - jobHeight - infoHeight)
        let rows = VarsRows.visible(state)
        let cols = [
            TableColumn("GENERATOR / FILE", .flex(weight: 3, min: 20)),
            TableColumn("STATUS", .flex(weight: 3, min: 14)),
            TableColumn("VALUE", .flex(weight: 2, min: 8)),
        ]
        var cursor = state.cursor(.vars)
        cursor.clamp(count: rows.count, visible: tableArea.height - 1)
        let table = TableView(columns: cols, rowCount: rows.count, cursor: cursor) { r, c in
            let row = rows[r]
            switch c {
            case 0:
                let indent = String(repeating: "  ", count: row.level.rawValue)
                let marker = row.level == .file ? (row.isSecret ? "🔒 " : "  ") : ""
                return (indent + (ctx.glyphs == .unicode ? marker : (row.isSecret && row.level == .file ? "* " : marker)) + row.text,
                        row.level == .section ? ctx.theme.tableHeader : (row.level == .generator ? ctx.theme.accent : nil))
            case 1:
                return (row.statusText, style(row.status, ctx: ctx))
            default:
                if row.isSecret && row.level == .file { return ("(secret: v reveals)", ctx.theme.dim) }
                let v = row.publicValue.map { $0.split(separator: "\n").first.map(String.init) ?? "" } ?? ""
                return (v, ctx.theme.dim)
            }
        }
        var t = table
        let matcher = FilterMatcher(query: state.filters[.vars] ?? "")
        if !matcher.isEmpty { t.highlighter = matcher }
        t.render(into: &buf, area: tableArea, ctx: ctx)
        // Info line.
        let infoY = tableArea.maxY
        buf.put(String(repeating: ctx.glyphs.horizontal, count: area.width), x: area.x, y: infoY, style: ctx.theme.border)
        if rows.indices.contains(cursor.row) {
            let r = rows[cursor.row]
            buf.put(" " + DisplayWidth.truncate(r.detail, to: area.width - 2, ellipsis: ctx.glyphs.ellipsis), x: area.x, y: infoY + 1,
                    style: ctx.theme.base, clip: area)
        }
        if let job = state.varsJob, jobHeight > 0 {
            let box = Rect(x: area.x, y: infoY + infoHeight, width: area.width, height: jobHeight)
            let status = job.running ? "running" : (job.ok == true ? "done" : "failed")
            Box.draw(&buf, box, title: "\(job.title) \(ctx.glyphs.dash) \(status)", ctx: ctx)
            let inner = Rect(x: box.x + 2, y: box.y + 1, width: box.width - 4, height: box.height - 2)
            for (i, line) in job.lines.suffix(inner.height).enumerated() {
                buf.put(DisplayWidth.truncate(line, to: inner.width, ellipsis: ctx.glyphs.ellipsis), x: inner.x, y: inner.y + i,
                        style: ctx.theme.base, clip: inner)
            }
        }
    }
}
