import FleetModel

/// Tab 1: every machine with class, system, tags and description.
enum FleetView {
    enum Column { case name, machineClass, system, tags, description }

    /// Columns for a width: SYSTEM is dropped below 90 columns so tags and descriptions stay readable.
    static func columns(width: Int) -> [(Column, TableColumn)] {
        var cols: [(Column, TableColumn)] = [
            (.name, TableColumn("NAME", .fixed(10))),
            (.machineClass, TableColumn("CLASS", .fixed(6))),
        ]
        if width >= 90 { cols.append((.system, TableColumn("SYSTEM", .fixed(14)))) }
        cols.append((.tags, TableColumn("TAGS", .flex(weight: 2, min: 8))))
        cols.append((.description, TableColumn("DESCRIPTION", .flex(weight: 3, min: 8))))
        return cols
    }

    static let hints: [(String, String)] = [
        ("j/k", "move"), ("g/G", "top/bottom"), ("1-6", "tabs"), ("r", "reload"), ("q", "quit"),
    ]

    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        if let err = state.loadError, state.inventory == nil {
            buf.put("Cannot load the fleet:", x: area.x + 2, y: area.y + 1, style: ctx.theme.error, clip: area)
            var y = area.y + 2
            for line in wrap(err, width: area.width - 4) {
                buf.put(line, x: area.x + 2, y: y, style: ctx.theme.base, clip: area)
                y += 1
            }
            return
        }
        let machines = state.machines
        if state.inventory == nil {
            buf.put("Loading inventory…", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        let cols = columns(width: area.width)
        let table = TableView(columns: cols.map(\.1), rowCount: machines.count, cursor: state.fleetCursor) { r, c in
            let m = machines[r]
            switch cols[c].0 {
            case .name: return (m.name, ctx.theme.accent)
            case .machineClass: return (m.machineClass.rawValue, nil)
            case .system: return (m.system ?? "?", ctx.theme.dim)
            case .tags: return (m.userTags.joined(separator: ","), nil)
            case .description: return (m.description ?? "", nil)
            }
        }
        table.render(into: &buf, area: area, ctx: ctx)
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for para in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in para.split(separator: " ") {
                if !line.isEmpty, DisplayWidth.of(line) + 1 + DisplayWidth.of(String(word)) > width {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
        }
        return lines
    }
}
