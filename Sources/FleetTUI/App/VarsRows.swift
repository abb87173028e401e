import FleetModel

/// Flattens a `VarsOverview` into the rows of the Vars tree: each machine with its generators and
/// files, the shared generators once, then what only the disk shows (orphans, unknown keys).
enum VarsRows {
    static func build(_ o: VarsOverview) -> VarsData {
        var rows: [VarsRow] = []
        var health: [String: VarsHealthSummary] = [:]
        if o.hasDefinitions {
            // Sized once: at 10k machines × 10 generators that is 310k rows, which grown by doubling
            // held ~1.5× their size in copies at the UI's memory peak.
            var count = o.shared.count + 1 + o.shared.reduce(0) { $0 + $1.files.count }
            for m in o.machines + o.exports { count += 2 + m.generators.reduce(0) { $0 + 1 + $1.files.count } }
            rows.reserveCapacity(count + o.scan.entries.count + 2)
            health.reserveCapacity(o.machines.count)
            for m in o.machines {
                let h = VarsHealth(m)
                health[m.machine] = VarsHealthSummary(summary: h.summary, ok: h.isOK)
                rows.append(VarsRow(level: .section, text: m.machine, status: h.isOK ? .ok : .missing, statusText: h.summary,
                                    detail: "\(m.generators.count) generators, \(h.files) files", machine: m.machine, isSecret: false))
                for g in m.generators where !g.id.isShared { rows += generatorRows(g, machine: m.machine) }
                let sharedHere = m.generators.filter { $0.id.isShared }.map(\.id.name)
                if !sharedHere.isEmpty {
                    rows.append(VarsRow(level: .generator, text: "shared: " + sharedHere.joined(separator: ", "), status: .info,
                                        statusText: "", detail: "shared generators this machine uses (listed under shared)",
                                        machine: m.machine, isSecret: false))
                }
            }
            if !o.shared.isEmpty {
                rows.append(VarsRow(level: .section, text: "shared", status: o.shared.allSatisfy(\.isOK) ? .ok : .missing,
                                    statusText: o.shared.allSatisfy(\.isOK) ? "ok" : "problems",
                                    detail: "vars/shared", isSecret: false))
                for g in o.shared {
                    var gr = generatorRows(g, machine: g.machine)
                    if let missing = o.sharedMissingAccess[g.id], !missing.isEmpty, !gr.isEmpty {
                        gr[0].detail += "; no access for: " + missing.joined(separator: ", ")
                    }
                    rows += gr
                }
            }
            // Flake-level generators (clan.exports."<key>".generators), one group per export key.
            for x in o.exports {
                let h = VarsHealth(x)
                rows.append(VarsRow(level: .section, text: "export: \(x.machine)", status: h.isOK ? .ok : .missing, statusText: h.summary,
                                    detail: "flake-level generators, vars/per-export/\(x.machine)", isSecret: false))
                for g in x.generators { rows += generatorRows(g, machine: nil) }
            }
        } else {
            rows.append(VarsRow(level: .section, text: "no generator definitions: showing what is on disk", status: .info,
                                statusText: "", detail: "add generators.json or open a clan flake for status", isSecret: false))
            let byMachine = Dictionary(grouping: o.scan.entries, by: \.placement)
            for m in byMachine.keys.sorted() {
                rows.append(VarsRow(level: .section, text: m, status: .info, statusText: "", detail: "",
                                    machine: byMachine[m]?.first?.machine, isSecret: false))
                for e in byMachine[m]! { rows.append(scanRow(e)) }
            }
        }
        // What only the disk knows: vars of machines not in the inventory, keys nobody owns.
        let orphans = o.scan.entries.filter(\.orphan)
        if !orphans.isEmpty, o.hasDefinitions {
            rows.append(VarsRow(level: .section, text: "orphans (machines not in the inventory)", status: .orphan,
                                statusText: "\(Set(orphans.compactMap(\.machine)).count) machines", detail: o.scan.orphanMachines.joined(separator: ", "),
                                isSecret: false))
            for e in orphans { rows.append(scanRow(e)) }
        }
        if !o.scan.unknownKeys.isEmpty {
            rows.append(VarsRow(level: .section, text: "keys with unknown owner", status: .orphan, statusText: "\(o.scan.unknownKeys.count)",
                                detail: o.scan.unknownKeys.map(\.publicKey).joined(separator: ", "), isSecret: false))
        }
        return VarsData(rows: rows, health: health, hasDefinitions: o.hasDefinitions)
    }

    static func generatorRows(_ g: GeneratorStatus, machine: String?) -> [VarsRow] {
        let problems = g.files.filter { $0.problem != nil }.count
        let status: VarsRow.Status = !g.validationOK ? .outdated : problems > 0 ? .missing : .ok
        let statusText = !g.validationOK ? "outdated (validation hash)" : problems > 0 ? "\(problems) problem\(problems == 1 ? "" : "s")" : "ok"
        var rows = [VarsRow(level: .generator, text: g.id.name, status: status, statusText: statusText,
                            detail: g.id.isShared ? "shared generator" : g.id.isExport ? exportDetail(g) : "generator of \(machine ?? "?")",
                            machine: machine, generator: g.id, isSecret: false)]
        for f in g.files { rows.append(fileRow(f, machine: machine)) }
        return rows
    }

    /// A flake-level generator's row: the machines its files are deployed to (their sops recipients).
    static func exportDetail(_ g: GeneratorStatus) -> String {
        var to: [String] = []
        for m in g.files.flatMap({ $0.file.deployTo ?? [] }) where !to.contains(m) { to.append(m) }
        return "flake-level generator, deployed to: " + (to.isEmpty ? "no machine" : to.joined(separator: ", "))
    }

    static func fileRow(_ f: VarFileStatus, machine: String?) -> VarsRow {
        var status: VarsRow.Status = .ok
        var text = "ok"
        switch f.problem {
        case .missingSecret?: status = .missing; text = "missing secret"
        case .missingPublic?: status = .missing; text = "missing value"
        case .missingAccess(let m)?: status = .missing; text = "no access for \(m)"
        case .unfixed(let added, let extra)?:
            status = .unfixed
            var parts: [String] = []
            if !extra.isEmpty { parts.append("extra " + extra.map { short($0.publicKey) }.joined(separator: ",")) }
            if !added.isEmpty { parts.append("missing " + added.map { short($0.publicKey) }.joined(separator: ",")) }
            text = "unfixed: " + parts.joined(separator: "; ")
        case .unreadable(let why)?: status = .missing; text = "unreadable: \(why)"
        case nil:
            if f.adminCanDecrypt == false { status = .undecryptable; text = "ok, undecryptable with your key" }
        }
        let owners = f.recipients.map { r in r.owners.isEmpty ? short(r.key.publicKey) : r.owners.map(\.description).joined(separator: "/") }
        var detail = f.file.secret ? "secret" : "public"
        detail += "  \(f.file.owner):\(f.file.group) \(f.file.mode)  neededFor \(f.file.neededFor.rawValue)"
        if let to = f.file.deployTo { detail += to.isEmpty ? "  (not deployed)" : "  deploy: " + to.joined(separator: ",") } else if !f.file.deploy { detail += "  (not deployed)" }
        if !owners.isEmpty { detail += "  recipients: " + owners.joined(separator: ", ") }
        // A public file's bytes come with its status (`VarsStatusChecker.collectValues`).
        return VarsRow(level: .file, text: f.file.name, status: status, statusText: text, detail: detail,
                       publicValue: f.file.secret ? nil : f.value.map { String(decoding: $0, as: UTF8.self) },
                       machine: machine, generator: f.generator, file: f.file.name, isSecret: f.file.secret)
    }

    static func scanRow(_ e: VarsDiskScan.Entry) -> VarsRow {
        let value = e.value.map { String(decoding: $0, as: UTF8.self) }
        let owners = e.recipients.map { r in r.owners.isEmpty ? short(r.key.publicKey) : r.owners.map(\.description).joined(separator: "/") }
        var detail = "\(e.kind.rawValue)"
        if !owners.isEmpty { detail += "  recipients: " + owners.joined(separator: ", ") }
        if let err = e.error { detail += "  error: \(err)" }
        return VarsRow(level: .file, text: e.id, status: e.orphan ? .orphan : (e.drift ? .unfixed : .info),
                       statusText: e.orphan ? "orphan" : (e.drift ? "recipients drifted" : e.kind.rawValue),
                       detail: detail, publicValue: value, machine: e.machine, generator: e.generatorID, file: e.file,
                       isSecret: e.kind == .secret)
    }

    static func short(_ key: String) -> String { key.count > 14 ? String(key.prefix(10)) + "…" : key }
}

extension VarsRows {
    /// Rows passing the `/` filter: a row matches on its text, machine or generator; a matching
    /// generator keeps its files, a matching file keeps its generator and machine headers.
    static func visible(_ state: AppState) -> [VarsRow] {
        guard let rows = state.vars?.rows else { return [] }
        let m = FilterMatcher(query: state.filters[.vars] ?? "")
        if m.isEmpty { return rows }
        func fields(_ r: VarsRow) -> String {
            [r.text, r.machine ?? "shared", r.generator?.name ?? "", r.statusText].joined(separator: "\n").lowercased()
        }
        var keep = [Bool](repeating: false, count: rows.count)
        for (i, r) in rows.enumerated() where m.matches(joined: fields(r)) {
            keep[i] = true
            // Keep the ancestors so a match is shown in context.
            var level = r.level.rawValue
            var j = i - 1
            while j >= 0 && level > 0 {
                if rows[j].level.rawValue < level { keep[j] = true; level = rows[j].level.rawValue }
                j -= 1
            }
            // A matching generator brings its files.
            if r.level == .generator {
                var k = i + 1
                while k < rows.count && rows[k].level == .file { keep[k] = true; k += 1 }
            }
        }
        return rows.indices.filter { keep[$0] }.map { rows[$0] }
    }
}
