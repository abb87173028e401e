import Foundation

/// A clan as the vars layer sees it: the clan directory (vars/, sops/), where generator definitions
/// come from (`generators.json` there, else the flake) and which machines the inventory lists.
/// Used by `fleet vars`, `fleet secrets` and the Vars screen; built from a `ClanLayout`.
public struct VarsRepository: Sendable {
    public let clanDirectory: String
    /// The flake checkout whose machines are evaluated (nil: a directory source).
    public let flakeDirectory: String?
    /// The evaluated inventory's machines (nil: read `inventory.json` + `machines/*`).
    public let knownMachines: Set<String>?

    public init(layout: ClanLayout) {
        clanDirectory = layout.clanDirectory
        flakeDirectory = layout.flakeDirectory
        knownMachines = layout.machines
    }

    /// A directory that is its own clan directory (a flake when it holds flake.nix).
    public init(clanDirectory: String) {
        let dir = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
        self.clanDirectory = dir
        flakeDirectory = FileManager.default.fileExists(atPath: dir + "/flake.nix") ? dir : nil
        knownMachines = nil
    }

    public var generatorsFile: String { clanDirectory + "/generators.json" }
    public var hasGeneratorsFile: Bool { FileManager.default.fileExists(atPath: generatorsFile) }

    /// Generator definitions from the directory source's `generators.json`. (A flake is evaluated with
    /// `FlakeGenerators`.) nil when there is none, so callers fall back to the disk scan.
    public func loadDirectoryCatalog() throws -> GeneratorCatalog? {
        guard hasGeneratorsFile else { return nil }
        return try GeneratorsFile(path: generatorsFile).load()
    }

    /// The generator definitions: `generators.json`, else the flake's, evaluated with nix — every
    /// machine's and the flake-level (per-export) ones; nil when there are neither (the disk scan
    /// still works then).
    public func loadCatalog() async throws -> GeneratorCatalog? {
        if let c = try loadDirectoryCatalog() { return c }
        if let flakeDirectory {
            let runner = ProcessVarsRunner()
            // The exports' evaluation runs beside the machines' (one more nix process, not more wall time).
            async let exports = ExportGenerators.load(flake: flakeDirectory, runner: runner)
            let machines = try await FlakeGenerators(flake: flakeDirectory, runner: runner).load()
            return try machines.adding(exports: try await exports.generators)
        }
        return nil
    }

    /// The engine over this clan (CLI and UI): a flake's generator scripts are its built `finalScript`s.
    public func engine(catalog: GeneratorCatalog, backend: VarsSecretBackend, runner: VarsCommandRunner = ProcessVarsRunner()) -> VarsEngine {
        var e = VarsEngine(clanDirectory: clanDirectory, catalog: catalog, backend: backend, runner: runner)
        if !hasGeneratorsFile, let flakeDirectory {
            let systems = Dictionary(catalog.machineNames.map { ($0, FlakeGenerators.localSystem) }, uniquingKeysWith: { a, _ in a })
            e.scriptProvider = FlakeGenerators(flake: flakeDirectory, runner: runner).scriptProvider(systems: systems)
        }
        return e
    }

    /// The inventory as clan reads it for its migrations (`InventoryStore.read()`): the flake's
    /// evaluated `inventorySerialization`, else `inventory.json` + `machines/`.
    public func loadInventory() async throws -> Inventory {
        if let flakeDirectory { return try await FlakeEvaluator().evaluate(flakeDirectory) }
        return try DirectoryInventoryLoader(directory: clanDirectory).load()
    }

    /// `run_migrations` before generating (see `VarsMigrations.run`); the changed paths.
    public func runMigrations(catalog: GeneratorCatalog, environment: [String: String]? = nil) async throws -> [String] {
        try await VarsMigrations.run(clanDirectory: clanDirectory, catalog: catalog, runner: ProcessVarsRunner(), environment: environment,
                                     inventory: { try await loadInventory() })
    }

    /// Machine names of the inventory: the evaluated inventory's for a flake (a machine defined only
    /// in Nix is not an orphan), else `inventory.json` + `machines/*`; nil when there is none.
    public func inventoryMachines() -> Set<String>? {
        if let knownMachines { return knownMachines }
        guard FileManager.default.fileExists(atPath: clanDirectory + "/inventory.json") else { return nil }
        guard let inv = try? DirectoryInventoryLoader(directory: clanDirectory).load() else { return nil }
        return Set(inv.machines.keys)
    }
}
