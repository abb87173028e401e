import Foundation

/// A flake-level ("per-export") generator: `clan.exports."<key>".generators.<g>` in clan.nix (the
/// `generators` export interface, modules/clan/export-modules/generators.nix), evaluated at
/// `clanInternals.systems.<sys>.exports.<key>.generators.<g>` (modules/clan/module.nix:246-260) and
/// read by clan's `get_flake_generators` (clan_lib/vars/generate.py:380-438). Stored under
/// `vars/per-export/<key>/<g>/<file>/{secret,value}` (clan_lib/vars/_types.py:22-41).
/// A file's `deploy` is a list of machines: the sops recipients of the secret (`StoreBase.set`,
/// _types.py:300-308). Dependencies name other flake-level generators by export key.
public struct ExportGenerator: Equatable, Sendable {
    /// `dependencies.<location> = { exportKey; generator; }`: the dependency's files appear under
    /// `$in/<location>/` (clan's `dependency_map`, generate.py:402-407).
    public struct Dependency: Equatable, Sendable {
        public let location: String
        public let exportKey: String
        public let generator: String
        public var id: GeneratorID { .perExport(generator, exportKey) }
    }

    public let exportKey: String
    public let name: String
    /// Sorted by name; `deployTo` holds the file's `deploy` list.
    public let files: [VarFileDefinition]
    public let dependencies: [Dependency]

    public var id: GeneratorID { .perExport(name, exportKey) }
    /// `per-export/<key>/<name>` under `vars/`.
    public var relDir: String { id.relDir }

    /// clan d7c35d9 gives every flake-level generator `validation_hash="abc"` and no prompts
    /// (generate.py:432-434), so it writes `abc` to `.validation-hash` and checks against it.
    public static let validationHash = "abc"

    /// As a generator definition for the catalog and the engine (the script is the built finalScript).
    public var definition: GeneratorDefinition {
        GeneratorDefinition(name: name, share: false, dependencies: dependencies.map(\.generator), prompts: [],
                            files: files, validationHash: Self.validationHash, script: nil)
    }
}

/// Every flake-level generator of a clan flake, evaluated with one `nix eval`.
public struct ExportGenerators: Equatable, Sendable {
    public let generators: [ExportGenerator]

    public init(generators: [ExportGenerator]) { self.generators = generators }

    /// Only `generators` of each export is touched: an export without the generators interface (or
    /// with other, failing options) must not break the evaluation (clan's
    /// test_exports_without_generators_evaluates).
    static let apply = """
        e: builtins.mapAttrs (_: v: builtins.mapAttrs (_: g: {
          dependencies = builtins.mapAttrs (_: d: { inherit (d) exportKey generator; }) g.dependencies;
          files = builtins.mapAttrs (_: f: { inherit (f) secret deploy owner group mode neededFor; }) g.files;
        }) (v.generators or {})) e
        """

    /// `nix eval` of the flake's exports for `system` (clan evaluates them for the local system).
    public static func load(flake: String, runner: VarsCommandRunner, system: String = FlakeGenerators.localSystem) async throws -> ExportGenerators {
        let attr = "\(flake)#clanInternals.systems.\(system).exports"
        let r = try await runner.run(argv: ["nix", "eval", "--json", "--extra-experimental-features", "nix-command flakes", attr, "--apply", apply],
                                     environment: nil, workingDirectory: nil, onLine: nil)
        guard r.status == 0 else {
            throw VarsError(flake, "nix eval of clanInternals.systems.\(system).exports failed: \(r.stderr.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        let doc: JSONValue
        do { doc = try JSONParser.parse(r.stdout) } catch { throw VarsError(flake, "nix eval printed invalid JSON: \(error)") }
        return try parse(doc, source: flake)
    }

    static func validateKey(_ key: String, source: String, at: String) throws {
        // The key becomes a path: clan's own characters (service:instance:role:machine), never `..`.
        guard !key.isEmpty, !key.hasPrefix("/"), !key.split(separator: "/").contains(".."),
              key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw VarsError(source, "\(at): invalid export key \(String(reflecting: key))")
        }
    }

    /// The evaluated `exports` attribute set (as printed by `load`'s apply) into generators.
    static func parse(_ doc: JSONValue, source: String) throws -> ExportGenerators {
        var out: [ExportGenerator] = []
        for (key, gens) in doc.objectValue ?? [:] {
            try validateKey(key, source: source, at: "exports")
            for (name, g) in gens.objectValue ?? [:] {
                let at = "exports.\(key).generators.\(name)"
                do { try NameValidation.validate(name, as: .generator) } catch { throw VarsError(source, "exports.\(key).generators: \(error)") }
                var files: [VarFileDefinition] = []
                for (f, v) in g["files"]?.objectValue ?? [:] {
                    do { try NameValidation.validate(f, as: .file) } catch { throw VarsError(source, "\(at).files: \(error)") }
                    let mode = v["mode"]?.stringValue ?? v["mode"]?.intValue.map { String($0, radix: 8) } ?? "0400"
                    let neededRaw = v["neededFor"]?.stringValue ?? "services"
                    guard let needed = VarFileDefinition.NeededFor(rawValue: neededRaw) else {
                        throw VarsError(source, "\(at).files.\(f).neededFor: unknown value \(String(reflecting: neededRaw))")
                    }
                    let deployTo = v["deploy"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    for m in deployTo {
                        do { try NameValidation.validate(m, as: .machine) } catch { throw VarsError(source, "\(at).files.\(f).deploy: \(error)") }
                    }
                    files.append(VarFileDefinition(name: f, secret: v["secret"]?.boolValue ?? true, deploy: !deployTo.isEmpty,
                                                   owner: v["owner"]?.stringValue ?? "root", group: v["group"]?.stringValue ?? "root",
                                                   mode: mode, neededFor: needed, deployTo: deployTo))
                }
                var deps: [ExportGenerator.Dependency] = []
                for (loc, d) in g["dependencies"]?.objectValue ?? [:] {
                    guard let k = d["exportKey"]?.stringValue, let gen = d["generator"]?.stringValue else {
                        throw VarsError(source, "\(at).dependencies.\(loc): expected { exportKey; generator; }")
                    }
                    do { try NameValidation.validate(loc, as: .file) } catch { throw VarsError(source, "\(at).dependencies: \(error)") }
                    try validateKey(k, source: source, at: "\(at).dependencies.\(loc).exportKey")
                    deps.append(.init(location: loc, exportKey: k, generator: gen))
                }
                out.append(ExportGenerator(exportKey: key, name: name, files: files.sorted { $0.name < $1.name },
                                           dependencies: deps.sorted { $0.location < $1.location }))
            }
        }
        return ExportGenerators(generators: out.sorted { $0.id < $1.id })
    }
}
