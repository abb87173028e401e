/// A generator placed in the clan: its definition, its place on disk, the machines declaring it
/// (one for per-machine, the union of declaring machines for shared; for a flake-level generator the
/// union of its files' `deploy` lists — clan's `Generator.machines`) and its dependencies resolved
/// to places.
public struct Generator: Equatable, Sendable {
    public let id: GeneratorID
    public let definition: GeneratorDefinition
    public internal(set) var machines: [String]
    public internal(set) var dependencies: [GeneratorID]
    /// Where a dependency's files appear under `$in/` when it is not the dependency's name (a
    /// flake-level generator's `dependencies.<location>`).
    public internal(set) var inputLocations: [GeneratorID: String] = [:]

    /// `$in/<location>/` of dependency `dep`.
    public func inputLocation(of dep: GeneratorID) -> String { inputLocations[dep] ?? dep.name }

    public var name: String { id.name }
    public var share: Bool { id.isShared }
    public var files: [VarFileDefinition] { definition.files }
    public var prompts: [PromptDefinition] { definition.prompts }
}

/// Every machine's generators, with shared generators de-duplicated by `(name, placement)` as
/// clan's `get_machine_generators` does (clan-formats.md §2.5).
public struct GeneratorCatalog: Sendable {
    /// Definitions as each machine declares them.
    public let declarations: [String: [GeneratorDefinition]]
    /// `clan.core.sops.defaultGroups` per machine.
    public let defaultGroups: [String: [String]]
    public let generators: GeneratorTable
    public let source: String

    /// `exports`: the flake-level generators (`ExportGenerators`), placed under `per-export/`.
    public init(machines: [String: [GeneratorDefinition]], defaultGroups: [String: [String]] = [:], source: String = "",
                exports: [ExportGenerator] = []) throws {
        self.declarations = machines
        self.defaultGroups = defaultGroups
        self.source = source
        var gens = GeneratorTable()
        gens.reserveCapacity(machines.values.reduce(exports.count) { $0 + $1.count })
        var ownDefinitions = true
        for machine in machines.keys.sorted() {
            let defs = machines[machine] ?? []
            // Only needed to place dependencies (10k machines × 10 generators mostly have none).
            let byName = defs.contains { !$0.dependencies.isEmpty }
                ? Dictionary(defs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }) : [:]
            for def in defs {
                let id = GeneratorID(name: def.name, machine: def.share ? nil : machine)
                // clan_lib/vars/generator.py:333-347: a dependency this machine declares keeps its
                // placement; any other must be a shared generator declared by another machine (real
                // clan's zerotier peers depend on `zerotier-identity-<controller>`). Whether it exists
                // is only checked when the generator runs (`resolveDependency`), as clan does.
                let deps = def.dependencies.map { dep in
                    GeneratorID(name: dep, machine: (byName[dep].map { !$0.share } ?? false) ? machine : nil)
                }
                // A shared generator already declared by another machine gets this machine added in
                // place (a copy of its machine list per declarer was quadratic: 10k machines of a
                // zerotier network all declare its `zerotier-network-<i>`); the first declaration stays.
                let known = try gens.modify(id) { existing in
                    if !def.share { ownDefinitions = false }
                    let diff = existing.definition.sharedDefinitionDifferences(def)
                    if !diff.isEmpty {
                        // The first declarer: machines are taken in sorted order, so it is the first one listed.
                        throw VarsError(source, "Machines \(existing.machines.first ?? "?") and \(machine) have different definitions for shared generator '\(def.name)' (differ in: \(diff.joined(separator: ", ")))")
                    }
                    existing.machines.append(machine)
                }
                if !known { gens[id] = Generator(id: id, definition: def, machines: [machine], dependencies: deps) }
            }
        }
        for e in exports {
            var machines: [String] = []
            for f in e.files { for m in f.deployTo ?? [] where !machines.contains(m) { machines.append(m) } }
            gens[e.id] = Generator(id: e.id, definition: e.definition, machines: machines, dependencies: e.dependencies.map(\.id),
                                   inputLocations: Dictionary(e.dependencies.map { ($0.id, $0.location) }, uniquingKeysWith: { a, _ in a }))
        }
        self.generators = gens
        self.perMachineDefinitionsAreOwn = ownDefinitions
        self.exportGenerators = exports
        try checkAcyclic()
    }

    /// The flake-level generators as evaluated (sorted like clan: by export key, then name).
    public let exportGenerators: [ExportGenerator]

    /// This catalog with the flake's flake-level generators added.
    public func adding(exports: [ExportGenerator]) throws -> GeneratorCatalog {
        try GeneratorCatalog(machines: declarations, defaultGroups: defaultGroups, source: source, exports: exportGenerators + exports)
    }

    /// The flake-level generators placed in the catalog, sorted by (export key, name).
    public var flakeLevelGenerators: [Generator] { exportGenerators.compactMap { generators[$0.id] } }

    /// The machines that declare generators, sorted.
    public var machineNames: [String] { declarations.keys.sorted() }

    /// A machine's generators (per-machine and the shared ones it declares), sorted like clan.
    public func generators(for machine: String) -> [Generator] {
        (declarations[machine] ?? []).compactMap { def in
            generators[GeneratorID(name: def.name, machine: def.share ? nil : machine)]
        }.sorted { $0.id < $1.id }
    }

    /// Whether every per-machine generator's definition is the one its machine declares (no machine
    /// declares a per-machine name twice): then `statusGenerators` need not look them up.
    private let perMachineDefinitionsAreOwn: Bool

    /// `generators(for:)` in the order of a machine's status (by name bytes, as clan walks them), as
    /// (id, definition): per-machine generators straight from the machine's declarations — no
    /// `GeneratorID` hashed, no `Generator` copied —, shared ones looked up. A status asks this of
    /// every machine (10k × 10 at scale).
    func statusGenerators(for machine: String) -> [(id: GeneratorID, definition: GeneratorDefinition)] {
        guard perMachineDefinitionsAreOwn else {
            return generators(for: machine).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }.map { ($0.id, $0.definition) }
        }
        let defs = declarations[machine] ?? []
        var out: [(id: GeneratorID, definition: GeneratorDefinition)] = []
        out.reserveCapacity(defs.count)
        for def in defs {
            if def.share {
                if let g = generators[GeneratorID(name: def.name, machine: nil)] { out.append((g.id, g.definition)) }
            } else {
                out.append((GeneratorID(name: def.name, machine: machine), def))
            }
        }
        func precedes(_ a: (id: GeneratorID, definition: GeneratorDefinition), _ b: (id: GeneratorID, definition: GeneratorDefinition)) -> Bool {
            a.id.name.utf8.lexicographicallyPrecedes(b.id.name.utf8)
        }
        // Declarations come in name order (generators.json objects, Nix attribute sets): mostly no
        // sort. Equal names (a shared and a per-machine one) take the sort below, as before.
        if zip(out, out.dropFirst()).contains(where: { !precedes($0, $1) }) {
            // By id first, as `generators(for:)`, so equal names keep its order.
            out.sort { $0.id < $1.id }
            out.sort(by: precedes)
        }
        return out
    }

    public func groups(for machine: String) -> [String] { defaultGroups[machine] ?? [] }

    /// Generators that depend (directly) on `id`, over every machine.
    public func dependents(of id: GeneratorID) -> [GeneratorID] {
        generators.values.filter { $0.dependencies.contains(id) }.map(\.id).sorted()
    }

    /// clan's `Generator._resolve_dep_generator` (clan_lib/vars/generator.py:536-555): the dependency
    /// is looked up by name among the generators of the machines declaring `generator` (clan passes
    /// `get_machine_generators(self.machines)`, generator.py:629-632); a shared generator must not
    /// depend on a machine-specific one. Errors carry clan's text.
    ///
    /// A flake-level generator's dependency is looked up by its exact (export key, name). clan's
    /// `execute` passes all flake-level generators and matches by name only (generator.py:538-541,
    /// 646-647), so with two exports holding a generator of the same name clan may feed the wrong
    /// one's files into `$in`; fleet does not mirror that.
    public func resolveDependency(_ dep: GeneratorID, of generator: Generator) throws -> Generator {
        let candidates = generator.id.isExport ? generators[dep].map { [$0] } ?? []
            : generator.machines.flatMap { self.generators(for: $0) }
        guard let found = candidates.first(where: { $0.name == dep.name }) else {
            let machines = generator.machines.isEmpty ? "<unknown>" : generator.machines.joined(separator: ", ")
            throw VarsError("", "Generator '\(generator.name)' depends on '\(dep.name)', but '\(dep.name)' was not found.\n"
                + "Either define it as:\n"
                + "  - shared generator '\(dep.name)' on any machine, or\n"
                + "  - per-machine generator '\(dep.name)' on: \(machines)")
        }
        if generator.share && !found.share {
            throw VarsError("", "Shared generators must not depend on machine specific generators. Generator '\(generator.name)' (shared) depends on '\(found.name)' (machine-specific)")
        }
        return found
    }

    private func checkAcyclic() throws {
        // Most catalogs have no cycle: a plain pass in any order proves it. Only a catalog with a cycle
        // takes the sorted walk below, which names the cycle the same way every time.
        if !hasCycle() { return }
        var state: [GeneratorID: Int] = [:]  // 1 visiting, 2 done
        func visit(_ id: GeneratorID, _ path: [GeneratorID]) throws {
            if state[id] == 2 { return }
            if state[id] == 1 {
                throw VarsError(source, "dependency cycle: \((path + [id]).map(\.description).joined(separator: " -> "))")
            }
            state[id] = 1
            for d in generators[id]?.dependencies ?? [] { try visit(d, path + [id]) }
            state[id] = 2
        }
        for id in generators.keys.sorted() { try visit(id, []) }
    }

    /// Depth-first search for a cycle, generators without dependencies skipped at once.
    private func hasCycle() -> Bool {
        var state: [GeneratorID: Bool] = [:]  // false visiting, true done
        func visit(_ id: GeneratorID) -> Bool {
            if let s = state[id] { return !s }
            guard let deps = generators[id]?.dependencies, !deps.isEmpty else { return false }
            state[id] = false
            for d in deps where visit(d) { return true }
            state[id] = true
            return false
        }
        for g in generators.values where !g.dependencies.isEmpty && visit(g.id) { return true }
        return false
    }
}
