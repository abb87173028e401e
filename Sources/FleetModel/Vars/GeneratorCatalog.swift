/// A generator placed in the clan: its definition, its place on disk, the machines declaring it
/// (one for per-machine, the union of declaring machines for shared — clan's `Generator.machines`)
/// and its dependencies resolved to places.
public struct Generator: Equatable, Sendable {
    public let id: GeneratorID
    public let definition: GeneratorDefinition
    public internal(set) var machines: [String]
    public internal(set) var dependencies: [GeneratorID]

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
    public let generators: [GeneratorID: Generator]
    public let source: String

    public init(machines: [String: [GeneratorDefinition]], defaultGroups: [String: [String]] = [:], source: String = "") throws {
        self.declarations = machines
        self.defaultGroups = defaultGroups
        self.source = source
        var gens: [GeneratorID: Generator] = [:]
        var firstDeclarer: [GeneratorID: String] = [:]
        for machine in machines.keys.sorted() {
            let defs = machines[machine] ?? []
            let byName = Dictionary(defs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for def in defs {
                let id = GeneratorID(name: def.name, machine: def.share ? nil : machine)
                var deps: [GeneratorID] = []
                for dep in def.dependencies {
                    guard let d = byName[dep] else {
                        throw VarsError(source, "machines.\(machine).generators.\(def.name).dependencies: generator \"\(dep)\" is not declared by machine \(machine)")
                    }
                    if def.share && !d.share {
                        throw VarsError(source, "Shared generators must not depend on machine specific generators. Generator '\(def.name)' (shared) depends on '\(dep)' (machine-specific)")
                    }
                    deps.append(GeneratorID(name: dep, machine: d.share ? nil : machine))
                }
                if var existing = gens[id] {
                    let diff = existing.definition.sharedDefinitionDifferences(def)
                    if !diff.isEmpty {
                        throw VarsError(source, "Machines \(firstDeclarer[id] ?? "?") and \(machine) have different definitions for shared generator '\(def.name)' (differ in: \(diff.joined(separator: ", ")))")
                    }
                    existing.machines.append(machine)
                    gens[id] = existing
                } else {
                    gens[id] = Generator(id: id, definition: def, machines: [machine], dependencies: deps)
                    firstDeclarer[id] = machine
                }
            }
        }
        self.generators = gens
        try checkAcyclic()
    }

    /// The machines that declare generators, sorted.
    public var machineNames: [String] { declarations.keys.sorted() }

    /// A machine's generators (per-machine and the shared ones it declares), sorted like clan.
    public func generators(for machine: String) -> [Generator] {
        (declarations[machine] ?? []).compactMap { def in
            generators[GeneratorID(name: def.name, machine: def.share ? nil : machine)]
        }.sorted { $0.id < $1.id }
    }

    public func groups(for machine: String) -> [String] { defaultGroups[machine] ?? [] }

    /// Generators that depend (directly) on `id`, over every machine.
    public func dependents(of id: GeneratorID) -> [GeneratorID] {
        generators.values.filter { $0.dependencies.contains(id) }.map(\.id).sorted()
    }

    private func checkAcyclic() throws {
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
}
