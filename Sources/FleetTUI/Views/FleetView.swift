import FleetModel

/// Tab 1: every machine with class, system, tags, roles, deploy target and description, plus a
/// detail pane (enter) with its services and settings.
enum FleetView {
    /// The STATUS column: whether the host runs what the flake gives now — never deployed, out of
    /// sync, in sync — or cannot be reached.
    static func statusText(_ s: HostStatus?, ctx: RenderContext) -> (String, Style) {
        guard let s else { return ("…", ctx.theme.dim) }
        switch s.reachability {
        case .noTarget: return ("no target", ctx.theme.dim)
        case .unreachable: return ("unreachable", ctx.theme.error)
        case .reachable:
            guard s.runningSystem != nil else { return ("never deployed", ctx.theme.warn) }
            switch s.inSync {
            case true?: return ("in sync", ctx.theme.ok)
            case false?: return ("out of sync", ctx.theme.warn)
            case nil: return (s.generation.map { "deployed, gen \($0)" } ?? "deployed", ctx.theme.ok)
            }
        }
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
        let cols = FleetColumn.visible(state, width: area.width)
        let fleet = state.fleet
        let vars = state.vars
        let statuses = state.hostStatus
        var headers = cols.map(\.1)
        if let sort = state.fleetSort, let i = cols.firstIndex(where: { $0.0 == sort.column }) {
            headers[i].title += sort.descending ? (ctx.glyphs == .unicode ? "↓" : "v") : (ctx.glyphs == .unicode ? "↑" : "^")
        }
        var table = TableView(columns: headers, rowCount: rows.count, cursor: state.cursor(.fleet)) { r, c in
            let m = machines[rows[r]]
            switch cols[c].0 {
            case .name: return (m.name, ctx.theme.accent)
            case .machineClass: return (m.machineClass.rawValue, nil)
            case .system: return (m.system ?? "?", ctx.theme.dim)
            case .tags: return (m.userTags.joined(separator: ","), nil)
            case .roles: return (FleetColumn.rolesText(FleetColumn.orderedRoles(m.name, fleet: fleet)), nil)
            case .target:
                // The address and where it came from, as the deploy's resolve stage says it.
                guard let t = state.deployTarget(of: m.name) else { return (addressPlaceholder(m, fleet), ctx.theme.dim) }
                return ("\(t.address) (\(t.shortSource))", ctx.theme.dim)
            case .overlay: return (fleet?.overlayIP(of: m.name) ?? addressPlaceholder(m, fleet), ctx.theme.dim)
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

    /// "…" while the machine's addresses are still being read (rows below the first screen, just
    /// after start), "-" when it has none.
    static func addressPlaceholder(_ m: Machine, _ fleet: ResolvedFleet?) -> String {
        fleet?.addressesKnown(of: m.name) ?? true ? "-" : "…"
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
