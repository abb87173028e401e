import Foundation

/// Exactly which existing files a vars run would replace, for the confirmation (issue 16: `n` said
/// "Generate 1 missing generator?" and silently replaced an ok `ssh-private-key`). clan regenerates
/// a generator as a unit — every file of every planned generator, including the dependants its
/// dependants rule pulls in (`VarsGraph`) — and re-encrypts existing shared secrets a requested
/// machine cannot read yet (`generate`'s access grant). Nothing else is written.
public enum VarsOverwrites {
    /// `vars/…` paths (relative to the clan directory) of existing files the run would replace.
    public static func existingFiles(_ plan: VarsPlan, engine: VarsEngine) -> [String] {
        let fm = FileManager.default
        let dir = engine.clanDirectory
        var out: [String] = []
        for id in plan.generators {
            guard let g = engine.catalog.generators[id] else { continue }
            for f in g.files {
                let rel = "vars/\(id.relDir)/\(f.name)/" + (f.secret ? "secret" : "value")
                if fm.fileExists(atPath: dir + "/" + rel) { out.append(rel) }
            }
        }
        // The access grant: shared deployed secrets a requested machine's key is not a recipient of.
        let keys = SopsKeyIndex(clanDirectory: dir)
        for m in plan.requestedMachines {
            let machineKeys = keys.machines[m] ?? []
            for gen in engine.catalog.generators(for: m) where gen.share && !plan.generators.contains(gen.id) {
                for f in gen.files where f.secret && f.deploy {
                    let rel = "vars/\(gen.id.relDir)/\(f.name)/secret"
                    guard fm.fileExists(atPath: dir + "/" + rel), let current = try? SopsFileRecipients.read(path: dir + "/" + rel) else { continue }
                    if machineKeys.isEmpty || machineKeys.isDisjoint(with: current) { out.append(rel) }
                }
            }
        }
        return Array(Set(out)).sorted()
    }

    /// Planned generators that do not exist yet (the rest are regenerated over existing files).
    public static func missingGenerators(_ plan: VarsPlan, engine: VarsEngine) -> [GeneratorID] {
        plan.generators.filter { !engine.exists($0) }
    }
}
