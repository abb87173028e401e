/// The generator selections of `clan vars generate` (clan_lib/vars/graph.py, clan-formats.md §2.7).
/// Dependents are searched over every machine's generators, so rotating a shared generator reaches
/// the per-machine generators of all machines that depend on it.
public enum VarsGraph {
    /// `all_missing_closure`: requested generators that do not exist on disk, plus all their dependents,
    /// in topological order.
    public static func allMissingClosure(requested: [GeneratorID], catalog: GeneratorCatalog,
                                         exists: (GeneratorID) -> Bool) -> [GeneratorID] {
        let missing = Set(requested.filter { !exists($0) })
        return toposort(addDependents(missing, catalog: catalog), catalog: catalog)
    }

    /// `requested_closure`: requested generators plus their dependencies missing on disk, plus every
    /// dependent, in topological order.
    public static func requestedClosure(requested: [GeneratorID], catalog: GeneratorCatalog,
                                        exists: (GeneratorID) -> Bool) -> [GeneratorID] {
        toposort(addDependents(addMissingDependencies(Set(requested), catalog: catalog, exists: exists), catalog: catalog), catalog: catalog)
    }

    /// `add_missing_dependencies`: `start` plus every dependency (transitively) missing on disk.
    public static func addMissingDependencies(_ start: Set<GeneratorID>, catalog: GeneratorCatalog,
                                              exists: (GeneratorID) -> Bool) -> Set<GeneratorID> {
        var closure = start
        var queue = start.sorted()
        while !queue.isEmpty {
            let id = queue.removeFirst()
            for dep in catalog.generators[id]?.dependencies ?? [] where !closure.contains(dep) && catalog.generators[dep] != nil && !exists(dep) {
                closure.insert(dep)
                queue.append(dep)
            }
        }
        return closure
    }

    public static func addDependents(_ start: Set<GeneratorID>, catalog: GeneratorCatalog) -> Set<GeneratorID> {
        var reverse: [GeneratorID: [GeneratorID]] = [:]
        for g in catalog.generators.values { for d in g.dependencies { reverse[d, default: []].append(g.id) } }
        var closure = start
        var queue = start.sorted()
        while !queue.isEmpty {
            let id = queue.removeFirst()
            for dependent in (reverse[id] ?? []).sorted() where !closure.contains(dependent) {
                closure.insert(dependent)
                queue.append(dependent)
            }
        }
        return closure
    }

    /// Dependencies first; ties broken by clan's sort key (placement, name) so the order is stable.
    public static func toposort(_ closure: Set<GeneratorID>, catalog: GeneratorCatalog) -> [GeneratorID] {
        var done = Set<GeneratorID>()
        var out: [GeneratorID] = []
        var remaining = closure.sorted()
        while !remaining.isEmpty {
            // The catalog is acyclic (checked on load), so some node is always ready.
            guard let i = remaining.firstIndex(where: { id in
                (catalog.generators[id]?.dependencies ?? []).allSatisfy { !closure.contains($0) || done.contains($0) }
            }) else { break }
            let id = remaining.remove(at: i)
            done.insert(id)
            out.append(id)
        }
        return out
    }
}
