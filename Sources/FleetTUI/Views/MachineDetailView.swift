import FleetModel

/// The Fleet screen's detail pane: identity, deploy info, tags, and every service the machine
/// takes part in with the settings that apply to it (merged in clan's precedence).
enum MachineDetailView {
    static func lines(_ m: Machine, fleet: ResolvedFleet?, status: HostStatus? = nil, ctx: RenderContext) -> [(String, Style)] {
        let t = ctx.theme
        var out: [(String, Style)] = []
        out.append((m.name, t.tableHeader))
        if let d = m.description { out.append((d, t.base)) }
        out.append(("class \(m.machineClass.rawValue)  system \(m.system ?? "?")", t.dim))
        out.append(("", t.base))
        out.append(("Deploy", t.accent))
        if let target = fleet?.target(of: m.name) {
            out.append(("  target   \(target.address)  (\(describe(target.source)))", t.base))
        } else {
            out.append(("  target   \(m.deploy.targetHost ?? "-")", t.base))
        }
        if let b = m.deploy.buildHost { out.append(("  build    \(b)", t.base)) }
        if let ip = fleet?.overlayIP(of: m.name) { out.append(("  overlay  \(ip)", t.base)) }
        if let ia = m.installedAt { out.append(("  installed at \(ia) (unix time)", t.dim)) }
        if let s = status {
            let (text, style) = FleetView.statusText(s, ctx: ctx)
            out.append(("  status   \(text)", style))
            switch s.reachability {
            case .unreachable(let why), .noTarget(let why): if !why.isEmpty { out.append(("           \(why)", t.dim)) }
            case .reachable: break
            }
            if let r = s.runningSystem { out.append(("  running  \(r)", t.dim)) }
            if let f = s.flakeSystem { out.append(("  flake    \(f)", t.dim)) }
            if let e = s.evaluationError { out.append(("  flake    evaluation failed: \(e)", t.error)) }
        }
        out.append(("", t.base))
        out.append(("Tags", t.accent))
        out.append(("  " + m.tags.joined(separator: ", "), t.base))
        out.append(("", t.base))
        let services = fleet?.services(of: m.name) ?? []
        out.append(("Services (\(services.count))", t.accent))
        for a in services {
            let via = a.byName ? "by name" : "via tag " + a.byTags.joined(separator: ", ")
            let input = a.module.input.map { "@\($0)" } ?? ""
            out.append(("  \(a.ref.description)  [\(a.module.name)\(input)]  \(via)", t.base))
            if a.settings != .object([:]) && !a.settings.isNull {
                // One line per service keeps every service on screen; `fleet show --json` has the full tree.
                out.append(("      " + JSONWriter(indent: nil, keySeparator: ": ", sortKeys: true).string(a.settings), t.dim))
            }
        }
        return out
    }

    static func describe(_ s: DeployTarget.Source) -> String {
        DeployTarget(address: "", source: s).sourceLabel
    }

    static func render(_ m: Machine, state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        Box.draw(&buf, area, title: "\(m.name) \(ctx.glyphs.dash) esc closes", ctx: ctx)
        let inner = Rect(x: area.x + 2, y: area.y + 1, width: area.width - 4, height: area.height - 2)
        var y = inner.y
        for (text, style) in lines(m, fleet: state.fleet, status: state.hostStatus[m.name], ctx: ctx) {
            guard y < inner.maxY else { break }
            buf.put(DisplayWidth.truncate(text, to: inner.width, ellipsis: ctx.glyphs.ellipsis), x: inner.x, y: y, style: style, clip: inner)
            y += 1
        }
    }
}
