import FleetModel

/// Tab 5: the zerotier overlay: each network (instance) with its id, controller and moons, and
/// every member with its roles, overlay IP and which vars layout the IP came from.
enum NetworkView {
    /// Where the overlay IP was found, in words (the clan release whose vars layout holds it).
    static func layoutText(_ l: ZerotierVarsLayout?) -> String {
        switch l {
        case .shared?: return "shared vars (26.05)"
        case .oldFinal?: return "machine vars (pre-26.05)"
        case .legacy?: return "machine vars (25.11)"
        case .canonical?: return "controller vars"
        case nil: return "-"
        }
    }

    static func render(_ state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        guard let fleet = state.fleet, fleet.isComplete else {
            let what = state.fleet == nil ? "inventory" : "network addresses"
            buf.put("Loading \(what)…", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        if fleet.zerotier.isEmpty {
            buf.put("No zerotier instance in this inventory.", x: area.x + 2, y: area.y + 1, style: ctx.theme.dim, clip: area)
            return
        }
        var y = area.y
        for net in fleet.zerotier {
            let id = net.networkID ?? "unknown (no vars yet)"
            // The instance is usually called "zerotier" too: name it once, as the network it is.
            var line = "Network \(net.instance == "zerotier" ? "" : "\(net.instance) ")\(id)  controller \(net.controller ?? "none")"
            if !net.moons.isEmpty { line += "  moons \(net.moons.joined(separator: ","))" }
            line += "  \(net.peers.count) peers"
            buf.put(" " + line, x: area.x, y: y, style: ctx.theme.accent, clip: area)
            y += 1
        }
        let all = NetworkRows.rows(state)
        let tableArea = Rect(x: area.x, y: y + 1, width: area.width, height: area.maxY - y - 1)
        let cols = [
            TableColumn("MACHINE", .fixed(10)),
            TableColumn("NETWORK", .fixed(10)),
            TableColumn("ROLES", .fixed(18)),
            TableColumn("OVERLAY IP", .flex(weight: 3, min: 15)),
            TableColumn("IP READ FROM", .fixed(22)),
            TableColumn("TARGET", .flex(weight: 2, min: 10)),
        ]
        var cursor = state.cursor(.network)
        cursor.clamp(count: all.count, visible: tableArea.height - 1)
        let table = TableView(columns: cols, rowCount: all.count, cursor: cursor) { r, c in
            let row = all[r]
            switch c {
            case 0: return (row.member.machine, ctx.theme.accent)
            case 1: return (row.network.instance, ctx.theme.dim)
            case 2: return (row.member.roles.joined(separator: ","), row.member.roles.contains("controller") ? ctx.theme.warn : nil)
            case 3: return (row.member.ip ?? "-", row.member.ip == nil ? ctx.theme.dim : nil)
            case 4: return (layoutText(row.member.layout), ctx.theme.dim)
            default: return (state.deployTarget(of: row.member.machine)?.address ?? "-", ctx.theme.dim)
            }
        }
        table.render(into: &buf, area: tableArea, ctx: ctx)
    }
}
