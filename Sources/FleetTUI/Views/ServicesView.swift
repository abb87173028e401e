import FleetModel

/// Tab 2: service instances → roles → machines, and a machine × role matrix showing who holds
/// what (● by name, ○ through a tag).
enum ServicesView {
    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        guard let fleet = state.fleet else {
            buf.put("Loading inventory…", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        let rows = ServicesRows.rows(state)
        if rows.isEmpty {
            buf.put((state.filters[.services] ?? "").isEmpty ? "No service instances in this inventory." : "No role matches the filter.", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        // Top: the role list; bottom: the matrix, when there is room for both.
        let machines = state.machines
        let matrixHeight = min(machines.count + 1, area.height / 2)
        let listHeight = min(rows.count + 1, area.height - (matrixHeight >= 4 ? matrixHeight + 1 : 0))
        let listArea = Rect(x: area.x, y: area.y, width: area.width, height: listHeight)
        let cols = [
            TableColumn("#", .fixed(3)),
            TableColumn("INSTANCE", .fixed(17)),
            TableColumn("ROLE", .fixed(11)),
            TableColumn("MODULE", .fixed(22)),
            TableColumn("VIA TAGS", .flex(weight: 1, min: 8)),
            TableColumn("MACHINES", .flex(weight: 3, min: 10)),
        ]
        var cursor = state.cursor(.services)
        cursor.clamp(count: rows.count, visible: listHeight - 1)
        let table = TableView(columns: cols, rowCount: rows.count, cursor: cursor) { r, c in
            let row = rows[r]
            var previousInstance: String?
            if r > 0 { previousInstance = rows[r - 1].ref.instance }
            switch c {
            case 0: return ("\(r + 1)", ctx.theme.dim)
            case 1: return (previousInstance == row.ref.instance ? "" : row.ref.instance, ctx.theme.accent)
            case 2: return (row.ref.role, nil)
            case 3: return (row.module, ctx.theme.dim)
            case 4: return (row.tags.map { "@" + $0 }.joined(separator: " "), nil)
            default: return (row.members.isEmpty ? "(none)" : row.members.joined(separator: ", "), row.members.isEmpty ? ctx.theme.warn : nil)
            }
        }
        table.render(into: &buf, area: listArea, ctx: ctx)
        guard matrixHeight >= 4 else { return }
        let top = listArea.maxY
        buf.put(String(repeating: ctx.glyphs.horizontal, count: area.width), x: area.x, y: top, style: ctx.theme.border)
        let legend = " \(ctx.glyphs.mark) by name  \(ctx.glyphs == .unicode ? "○" : "o") through a tag  \(ctx.glyphs == .unicode ? "·" : ".") not a member "
        buf.put(legend, x: area.x + 2, y: top, style: ctx.theme.dim, clip: area)
        renderMatrix(fleet, rows: rows.map(\.ref), machines: machines,
                     into: &buf, area: Rect(x: area.x, y: top + 1, width: area.width, height: matrixHeight), ctx: ctx)
    }

    /// Machines down, roles across (numbered as in the list above).
    static func renderMatrix(_ fleet: ResolvedFleet, rows: [RoleRef], machines: [Machine], into buf: inout ScreenBuffer,
                             area: Rect, ctx: RenderContext) {
        let nameWidth = 12
        let cell = 3
        let fit = max(0, (area.width - nameWidth - 2) / cell)
        var header = DisplayWidth.pad("machine", to: nameWidth)
        for i in 0..<min(rows.count, fit) { header += DisplayWidth.pad(String(i + 1), to: cell) }
        buf.put(" " + header, x: area.x, y: area.y, style: ctx.theme.tableHeader, clip: area)
        let hidden = rows.count - min(rows.count, fit)
        if hidden > 0 { buf.put("+\(hidden)", x: area.maxX - 4, y: area.y, style: ctx.theme.dim, clip: area) }
        for (i, m) in machines.prefix(area.height - 1).enumerated() {
            let y = area.y + 1 + i
            buf.put(" " + DisplayWidth.pad(m.name, to: nameWidth), x: area.x, y: y, style: ctx.theme.accent, clip: area)
            let assignments = fleet.services(of: m.name)
            for (j, ref) in rows.prefix(fit).enumerated() {
                let x = area.x + 1 + nameWidth + j * cell
                if let a = assignments.first(where: { $0.ref == ref }) {
                    buf.put(a.byName ? ctx.glyphs.mark : (ctx.glyphs == .unicode ? "○" : "o"), x: x, y: y,
                            style: a.byName ? ctx.theme.ok : ctx.theme.accent, clip: area)
                } else {
                    buf.put(ctx.glyphs == .unicode ? "·" : ".", x: x, y: y, style: ctx.theme.dim, clip: area)
                }
            }
        }
    }
}
