import FleetModel
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The Fleet screen's detail pane: identity, deploy info, tags, and every service the machine
/// takes part in with the settings that apply to it (merged in clan's precedence).
enum MachineDetailView {
    /// `target`: what the deploy will use (`AppState.deployTarget`); default the inventory's own.
    static func lines(_ m: Machine, fleet: ResolvedFleet?, target: DeployTarget?? = nil, status: HostStatus? = nil, vars: VarsData? = nil,
                      history: [HistoryEntry] = [], ctx: RenderContext) -> [(String, Style)] {
        let t = ctx.theme
        var out: [(String, Style)] = []
        out.append((m.name, t.tableHeader))
        if let d = m.description { out.append((d, t.base)) }
        out.append(("class \(m.machineClass.rawValue)  system \(m.system ?? "?")", t.dim))
        out.append(("", t.base))
        out.append(("Deploy", t.accent))
        if let target = target ?? fleet?.target(of: m.name) {
            out.append(("  target   \(target.address)  (\(describe(target.source)))", t.base))
        } else {
            out.append(("  target   \(m.deploy.targetHost ?? "-")", t.base))
        }
        if let b = m.deploy.buildHost { out.append(("  build    \(b)", t.base)) }
        if let ip = fleet?.overlayIP(of: m.name) { out.append(("  overlay  \(ip)", t.base)) }
        if let ia = m.installedAt { out.append(("  installed \(humanDate(ia))", t.dim)) }
        if let s = status {
            let (text, style) = FleetView.statusText(s, ctx: ctx)
            out.append(("  status   \(text)", style))
            switch s.reachability {
            case .unreachable(let why), .noTarget(let why): if !why.isEmpty { out.append(("           \(why)", t.dim)) }
            case .reachable: break
            }
            // Store paths say little to a person: the system's name and generation, and what the flake
            // would change it to when they differ.
            if let r = s.runningSystem {
                out.append(("  running  \(storeName(r))" + (s.generation.map { " (generation \($0))" } ?? ""), t.dim))
            }
            if let f = s.flakeSystem, s.inSync == false {
                let same = s.runningSystem.map(storeName) == storeName(f)
                out.append(("  next     \(storeName(f))" + (same ? " (same name, different build)" : "") + " on the next deploy", t.warn))
            }
            if let e = s.evaluationError { out.append(("  flake    evaluation failed: \(e)", t.error)) }
        }
        if let last = lastDeploy(of: m.name, history) { out.append(("  last     \(last)", t.dim)) }
        out.append(("", t.base))
        out += varsLines(m.name, vars, ctx: ctx)
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

    /// `1763061719` → `2025-11-13 19:21 UTC`.
    static func humanDate(_ unix: Int) -> String {
        var t = time_t(unix)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min))
    }

    /// `/nix/store/<hash>-nixos-system-x-25.11` → `nixos-system-x-25.11`.
    static func storeName(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        guard let dash = base.firstIndex(of: "-"), base.distance(from: base.startIndex, to: dash) == 32 else { return base }
        return String(base[base.index(after: dash)...])
    }

    /// The newest recorded run that included the machine: when, and how it ended.
    static func lastDeploy(of machine: String, _ history: [HistoryEntry]) -> String? {
        for e in history {
            if let line = e.hostLines.first(where: { $0.hasPrefix(machine + ": ") }) {
                let result = line.dropFirst(machine.count + 2).split(separator: "(").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                return "\(e.kind) \(e.startedAt): \(result)"
            }
        }
        return nil
    }

    /// The machine's vars health and each generator that needs attention.
    static func varsLines(_ machine: String, _ vars: VarsData?, ctx: RenderContext) -> [(String, Style)] {
        let t = ctx.theme
        guard let vars else { return [("Vars  …", t.accent)] }
        guard let h = vars.health[machine] else { return [("Vars  none declared", t.accent)] }
        var out: [(String, Style)] = [("Vars  \(h.summary)", h.ok ? t.ok : t.error)]
        var inMachine = false
        var problems: [String] = [], flaggedGenerators: Set<String> = []
        for r in vars.rows {
            if r.level == .section { inMachine = r.text == machine; continue }
            guard inMachine, r.status != .ok, r.status != .info else { continue }
            let gen = r.generator?.name ?? r.text
            // A flagged generator speaks for its files.
            if r.level == .file, flaggedGenerators.contains(gen) { continue }
            if r.level == .generator { flaggedGenerators.insert(gen) }
            problems.append((r.level == .generator ? gen : "\(gen)/\(r.file ?? r.text)") + "  " + r.statusText)
        }
        for p in problems.prefix(6) { out.append(("  " + p, t.warn)) }
        if problems.count > 6 { out.append(("  … \(problems.count - 6) more (Vars screen)", t.dim)) }
        return out
    }

    static func describe(_ s: DeployTarget.Source) -> String {
        DeployTarget(address: "", source: s).sourceLabel
    }

    static func render(_ m: Machine, state: AppState, into buf: inout ScreenBuffer, area: Rect, ctx: RenderContext) {
        Box.draw(&buf, area, title: "\(m.name) \(ctx.glyphs.dash) esc closes", ctx: ctx)
        let inner = Rect(x: area.x + 2, y: area.y + 1, width: area.width - 4, height: area.height - 2)
        var y = inner.y
        for (text, style) in lines(m, fleet: state.fleet, target: .some(state.deployTarget(of: m.name)), status: state.hostStatus[m.name], vars: state.vars, history: state.history, ctx: ctx) {
            guard y < inner.maxY else { break }
            buf.put(DisplayWidth.truncate(text, to: inner.width, ellipsis: ctx.glyphs.ellipsis), x: inner.x, y: y, style: style, clip: inner)
            y += 1
        }
    }
}
