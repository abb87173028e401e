import Foundation

/// Where a clan keeps its files and which vars backend it uses, read from the source the way clan's
/// CLI does: the clan directory is the flake path + `clanInternals.inventoryClass.relativeDirectory`
/// (`clan.directory`; clan_lib/nix_selectors.py:113-114, clan_lib/api/directory.py:115-150), the
/// backend is `clanInternals.vars.settings.secretStore` (clan_lib/vars/generate.py:391-397), and the
/// machines are the evaluated inventory's (so a machine defined only in Nix is known).
public struct ClanLayout: Equatable, Sendable {
    /// The flake checkout (nil for a directory source or the demo).
    public var flakeDirectory: String?
    /// Holds `vars/`, `sops/`, `inventory.json`.
    public var clanDirectory: String
    /// `sops` (what fleet implements), `password-store`, `age`, …
    public var secretStore: String
    /// The inventory's machine names; nil when unknown.
    public var machines: Set<String>?

    public init(flakeDirectory: String?, clanDirectory: String, secretStore: String = "sops", machines: Set<String>? = nil) {
        self.flakeDirectory = flakeDirectory
        self.clanDirectory = URL(fileURLWithPath: clanDirectory).standardizedFileURL.path
        self.secretStore = secretStore
        self.machines = machines
    }

    /// The clan directory inside the flake checkout for clan's `relativeDirectory`.
    public static func clanDirectory(flakeDirectory: String, relativeDirectory: String) -> String {
        relativeDirectory.isEmpty ? flakeDirectory : flakeDirectory + "/" + relativeDirectory
    }

    /// What clan's flake says, in one `nix eval`. `or` keeps flakes without these attributes (older
    /// clan-core, hand-made test flakes) at clan's defaults: the flake root and sops.
    static let apply = """
        c: {
          relativeDirectory = c.inventoryClass.relativeDirectory or "";
          secretStore = c.vars.settings.secretStore or "sops";
          machines = builtins.attrNames (c.inventoryClass.inventorySerialization.machines or {});
        }
        """

    /// The layout of `source`: a flake is evaluated, a directory (or the demo) is its own clan
    /// directory with the machines of `inventory.json` + `machines/*` — or `loadedMachines`, the
    /// names of the inventory the caller has just loaded from that directory (the dashboard: a
    /// second parse of a 10k-machine inventory.json was the peak of its memory, make bench).
    public static func load(_ source: InventorySource, runner: ProcessRunner = ProcessRunner(),
                            environment: [String: String]? = nil, loadedMachines: Set<String>? = nil) async throws -> ClanLayout {
        guard let local = source.localDirectory else {
            throw InventorySourceError("\(source.path) is not a local flake; vars and secrets need a local checkout of the clan")
        }
        guard case .flake(let flake) = source else {
            let machines = try loadedMachines
                ?? Set(DirectoryInventoryLoader(directory: local, inventoryJSONOptional: true).load().machines.keys)
            return ClanLayout(flakeDirectory: nil, clanDirectory: local, machines: machines)
        }
        let argv = ["nix", "--extra-experimental-features", "nix-command flakes", "eval", "--json",
                    "\(FlakeEvaluator.flakeRef(flake))#clanInternals", "--apply", apply]
        let result: ProcessResult
        do {
            result = try await runner.run(ProcessSpec(argv: argv, environment: environment, timeout: .seconds(600)))
        } catch ProcessError.notFound {
            throw InventoryLoadError.nixMissing(flake: flake)
        }
        guard result.status == 0, let doc = try? JSONParser.parse(result.stdout) else {
            let msg = FlakeEvaluator.tail(result.stderrString).trimmingCharacters(in: .whitespacesAndNewlines)
            throw InventorySourceError("\(flake): nix eval of clanInternals (clan directory, vars backend, machines) failed (exit \(result.status))" + (msg.isEmpty ? "" : ":\n" + msg))
        }
        let rel = doc["relativeDirectory"]?.stringValue ?? ""
        let names = doc["machines"]?.arrayValue?.compactMap(\.stringValue)
        for n in names ?? [] {  // the same rule as every other inventory load (InventoryDecoder)
            do { _ = try NameValidation.validate(n, as: .machine) } catch let e as NameError {
                throw InventoryError(file: "\(flake)#\(FlakeEvaluator.attribute)", path: "machines", message: "\(e)")
            }
        }
        return ClanLayout(flakeDirectory: local, clanDirectory: clanDirectory(flakeDirectory: local, relativeDirectory: rel),
                          secretStore: doc["secretStore"]?.stringValue ?? "sops", machines: names.map(Set.init))
    }

    /// The clan directory a command may write (tag edits of inventory.json, vars, secrets): the one
    /// mapping from a source to its clan directory, with the pristine demo refused.
    public static func writableClanDirectory(_ source: InventorySource) async throws -> String {
        _ = try source.writableDirectory()
        return try await load(source).clanDirectory
    }

    /// fleet reads and writes clan's sops backend only; another backend gets a clear refusal
    /// instead of wrong statuses.
    public func requireSopsBackend() throws {
        guard secretStore == "sops" else {
            throw InventorySourceError("\(flakeDirectory ?? clanDirectory): the clan's vars backend is \"\(secretStore)\" (clan.core.vars.settings.secretStore); fleet supports only \"sops\" so far — use `clan vars` for this clan")
        }
    }
}
