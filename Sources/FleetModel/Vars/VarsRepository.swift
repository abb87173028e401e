import Foundation

/// A clan directory as the vars layer sees it: where generator definitions come from and which
/// machines the inventory lists. Used by `fleet vars` and the Vars screen.
public struct VarsRepository: Sendable {
    public let clanDirectory: String

    public init(clanDirectory: String) {
        self.clanDirectory = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
    }

    public var generatorsFile: String { clanDirectory + "/generators.json" }
    public var hasGeneratorsFile: Bool { FileManager.default.fileExists(atPath: generatorsFile) }
    public var isFlake: Bool { FileManager.default.fileExists(atPath: clanDirectory + "/flake.nix") }

    /// Generator definitions from the directory source's `generators.json`. (A flake is evaluated with
    /// `FlakeGenerators`.) nil when there is none, so callers fall back to the disk scan.
    public func loadDirectoryCatalog() throws -> GeneratorCatalog? {
        guard hasGeneratorsFile else { return nil }
        return try GeneratorsFile(path: generatorsFile).load()
    }

    /// The generator definitions: `generators.json`, else the flake's, evaluated with nix; nil when
    /// there are neither (the disk scan still works then).
    public func loadCatalog() async throws -> GeneratorCatalog? {
        if let c = try loadDirectoryCatalog() { return c }
        if isFlake { return try await FlakeGenerators(flake: clanDirectory, runner: ProcessVarsRunner()).load() }
        return nil
    }

    /// The engine over this clan: a flake's generator scripts are its built `finalScript`s.
    public func engine(catalog: GeneratorCatalog, backend: VarsSecretBackend, runner: VarsCommandRunner = ProcessVarsRunner()) -> VarsEngine {
        var e = VarsEngine(clanDirectory: clanDirectory, catalog: catalog, backend: backend, runner: runner)
        if !hasGeneratorsFile && isFlake {
            let systems = Dictionary(catalog.machineNames.map { ($0, FlakeGenerators.localSystem) }, uniquingKeysWith: { a, _ in a })
            e.scriptProvider = FlakeGenerators(flake: clanDirectory, runner: runner).scriptProvider(systems: systems)
        }
        return e
    }

    /// The inventory as clan reads it for its migrations (`InventoryStore.read()`): the flake's
    /// evaluated `inventorySerialization`, else `inventory.json` + `machines/`.
    public func loadInventory() async throws -> Inventory {
        if isFlake { return try await FlakeEvaluator().evaluate(clanDirectory) }
        return try DirectoryInventoryLoader(directory: clanDirectory).load()
    }

    /// `run_migrations` before generating (see `VarsMigrations.run`); the changed paths.
    public func runMigrations(catalog: GeneratorCatalog, environment: [String: String]? = nil) async throws -> [String] {
        try await VarsMigrations.run(clanDirectory: clanDirectory, catalog: catalog, runner: ProcessVarsRunner(), environment: environment,
                                     inventory: { try await loadInventory() })
    }

    /// Machine names of the inventory (`inventory.json` + `machines/*`), nil when there is none.
    public func inventoryMachines() -> Set<String>? {
        guard FileManager.default.fileExists(atPath: clanDirectory + "/inventory.json") else { return nil }
        guard let inv = try? DirectoryInventoryLoader(directory: clanDirectory).load() else { return nil }
        return Set(inv.machines.keys)
    }
}
