import FleetModel

/// Tab 1: every machine with class, system, tags, roles, deploy target and description, plus a
/// detail pane (enter) with its services and settings.
enum FleetView {
    enum Column { case name, machineClass, system, tags, roles, target, overlay, secrets, status, description }

    /// The STATUS column: reachability and whether the host runs what the flake builds now.
    static func statusText(_ s: HostStatus?, ctx: RenderContext) -> (String, Style) {
        guard let s else { return ("…", ctx.theme.dim) }
        switch s.reachability {
        case .noTarget: return ("no target", ctx.theme.dim)
        case .unreachable: return ("unreachable", ctx.theme.error)
        case .reachable:
            switch s.inSync {
            case true?: return ("up, in sync", ctx.theme.ok)
            case false?: return ("up, OUT OF SYNC", ctx.theme.warn)
            case nil: return (s.generation.map { "up, gen \($0)" } ?? "up", ctx.theme.ok)
            }
        }
    }

    /// Columns for a width: the table keeps name/class/tags and adds more as room allows.
    static func columns(width: Int) -> [(Column, TableColumn)] {
        var cols: [(Column, TableColumn)] = [
            (.name, TableColumn("NAME", .fixed(10))),
            (.machineClass, TableColumn("CLASS", .fixed(6))),
        ]
        if width >= 90 { cols.append((.system, TableColumn("SYSTEM", .fixed(14)))) }
        cols.append((.tags, TableColumn("TAGS", .flex(weight: 3, min: 8))))
        if width >= 80 { cols.append((.roles, TableColumn("ROLES", .flex(weight: 3, min: 8)))) }
        if width >= 120 { cols.append((.target, TableColumn("TARGET", .flex(weight: 2, min: 12)))) }
        if width >= 150 { cols.append((.overlay, TableColumn("OVERLAY IP", .fixed(15)))) }
        if width >= 100 { cols.append((.secrets, TableColumn("SECRETS", .fixed(12)))) }
        if width >= 110 { cols.append((.status, TableColumn("STATUS", .fixed(15)))) }
        cols.append((.description, TableColumn("DESCRIPTION", .flex(weight: 3, min: 8))))
        return cols
    }

    /// Roles most specific first: held by name, then through a user tag, then through the implicit
    /// all/nixos/darwin tags (which every machine of a class shares, so they say the least).
    static func orderedRoles(_ machine: String, fleet: ResolvedFleet?) -> [String] {
        guard let fleet else { return [] }
        let implicit: Set<String> = ["all", "nixos", "darwin"]
        func rank(_ a: RoleAssignment) -> Int {
            if a.byName { return 0 }
            return a.byTags.contains { !implicit.contains($0) } ? 1 : 2
        }
        let assignments = fleet.services(of: machine).enumerated().sorted { l, r in
            (rank(l.element), l.offset) < (rank(r.element), r.offset)
        }
        return assignments.map(\.element.ref.description)
    }

    /// Roles shown compactly: `zerotier/controller` stays, `default` roles show the instance only.
    static func rolesText(_ roles: [String]) -> String {
        roles.map { $0.hasSuffix("/default") ? String($0.dropLast(8)) : $0 }.joined(separator: ",")
    }

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
        if state.inventory == nil {
            buf.put("Loading inventory…", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        var tableArea = area
        if state.detailOpen, let m = state.selectedMachine {
            if area.width >= 120 {
                let w = area.width / 2
                tableArea = Rect(x: area.x, y: area.y, width: area.width - w - 1, height: area.height)
                MachineDetailView.render(m, state: state, into: &buf,
                                         area: Rect(x: area.maxX - w, y: area.y, width: w, height: area.height), ctx: ctx)
            } else {
                MachineDetailView.render(m, state: state, into: &buf, area: area, ctx: ctx)
                return
            }
        }
        renderTable(state, into: &buf, area: tableArea, ctx: ctx)
    }

    static func renderTable(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        let machines = state.machines
        let rows = state.fleetRows
        if rows.isEmpty && !machines.isEmpty {
            buf.put("No machine matches the filter \"\(state.fleetFilter)\" (esc clears it).", x: area.x + 2, y: area.y + 1,
                    style: ctx.theme.dim, clip: area)
            return
        }
        let cols = columns(width: area.width)
        let fleet = state.fleet
        let vars = state.vars
        let statuses = state.hostStatus
        var table = TableView(columns: cols.map(\.1), rowCount: rows.count, cursor: state.cursor(.fleet)) { r, c in
            let m = machines[rows[r]]
            switch cols[c].0 {
            case .name: return (m.name, ctx.theme.accent)
            case .machineClass: return (m.machineClass.rawValue, nil)
            case .system: return (m.system ?? "?", ctx.theme.dim)
            case .tags: return (m.userTags.joined(separator: ","), nil)
            case .roles: return (rolesText(orderedRoles(m.name, fleet: fleet)), nil)
            case .target: return (fleet?.target(of: m.name)?.address ?? m.deploy.targetHost ?? "-", ctx.theme.dim)
            case .overlay: return (fleet?.overlayIP(of: m.name) ?? "-", ctx.theme.dim)
            case .status:
                let (t, st) = statusText(statuses[m.name], ctx: ctx)
                return (t, st)
            case .secrets:
                guard let h = vars?.health[m.name] else { return (vars == nil ? "…" : "-", ctx.theme.dim) }
                return (h.summary, h.ok ? ctx.theme.ok : ctx.theme.error)
            case .description: return (m.description ?? "", nil)
            }
        }
        let marks = state.marks
        table.isMarked = { marks.contains(machines[rows[$0]].name) }
        let matcher = FilterMatcher(query: state.fleetFilter)
        if !matcher.isEmpty { table.highlighter = matcher }
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
