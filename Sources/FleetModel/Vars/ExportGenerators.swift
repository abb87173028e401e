import Foundation

/// A flake-level ("per-export") generator: `clanInternals.systems.<sys>.exports.<key>.generators.<g>`
/// (clan_lib/vars/generate.py:380-438), stored under `vars/per-export/<key>/<g>/<file>/{secret,value}`
/// (clan_lib/vars/_types.py `PerExport`). A file's `deploy` is the list of machines that receive it.
public struct ExportGenerator: Equatable, Sendable {
    public struct File: Equatable, Sendable {
        public let name: String
        public let secret: Bool
        /// The machines this file is uploaded to with their secrets (clan_lib/vars/upload.py:13-15).
        public let deployTo: [String]
        public let owner: String
        public let group: String
        public let mode: String
        public let neededFor: String
    }

    public let exportKey: String
    public let name: String
    public let files: [File]

    /// `per-export/<key>/<name>` under `vars/`.
    public var relDir: String { "per-export/\(exportKey)/\(name)" }
}

/// Every flake-level generator of a clan flake, evaluated once, with their status on disk and what
/// each machine receives at deploy.
public struct ExportGenerators: Equatable, Sendable {
    public let generators: [ExportGenerator]

    public init(generators: [ExportGenerator]) { self.generators = generators }

    static let apply = """
        e: builtins.mapAttrs (_: v: builtins.mapAttrs (_: g: {
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
        var out: [ExportGenerator] = []
        for (key, gens) in doc.objectValue ?? [:] {
            // The key becomes a path: clan's own characters (service/instance:role:machine), never `..`.
            guard !key.isEmpty, !key.hasPrefix("/"), !key.split(separator: "/").contains(".."),
                  key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw VarsError(flake, "exports: invalid export key \(String(reflecting: key))")
            }
            for (name, g) in gens.objectValue ?? [:] {
                do { try NameValidation.validate(name, as: .generator) } catch { throw VarsError(flake, "exports.\(key).generators: \(error)") }
                var files: [ExportGenerator.File] = []
                for (f, v) in g["files"]?.objectValue ?? [:] {
                    do { try NameValidation.validate(f, as: .file) } catch { throw VarsError(flake, "exports.\(key).generators.\(name).files: \(error)") }
                    let mode = v["mode"]?.stringValue ?? v["mode"]?.intValue.map { String($0, radix: 8) } ?? "0400"
                    files.append(ExportGenerator.File(
                        name: f, secret: v["secret"]?.boolValue ?? true,
                        deployTo: v["deploy"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                        owner: v["owner"]?.stringValue ?? "root", group: v["group"]?.stringValue ?? "root",
                        mode: mode, neededFor: v["neededFor"]?.stringValue ?? "services"))
                }
                out.append(ExportGenerator(exportKey: key, name: name, files: files.sorted { $0.name < $1.name }))
            }
        }
        return ExportGenerators(generators: out.sorted { ($0.exportKey, $0.name) < ($1.exportKey, $1.name) })
    }

    /// What `machine` receives with its secrets at deploy: secret files whose `deploy` lists it.
    /// For the deploy (activation-secret upload), beside the machine's own generators.
    public func files(deployedTo machine: String) -> [(generator: ExportGenerator, file: ExportGenerator.File)] {
        generators.flatMap { g in g.files.filter { $0.secret && $0.deployTo.contains(machine) }.map { (g, $0) } }
    }

    /// Vars with nothing on disk yet, as `<key>/<generator>/<file>` (secret: `secret`, public: `value`).
    public func missing(clanDirectory: String) -> (secret: [String], public: [String]) {
        var secret: [String] = [], pub: [String] = []
        for g in generators {
            for f in g.files {
                let base = "\(clanDirectory)/vars/\(g.relDir)/\(f.name)/"
                if !FileManager.default.fileExists(atPath: base + (f.secret ? "secret" : "value")) {
                    if f.secret { secret.append("\(g.exportKey)/\(g.name)/\(f.name)") } else { pub.append("\(g.exportKey)/\(g.name)/\(f.name)") }
                }
            }
        }
        return (secret, pub)
    }
}
