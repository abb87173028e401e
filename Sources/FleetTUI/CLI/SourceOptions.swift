import ArgumentParser
import Foundation
import FleetModel

/// `--flake` / `--inventory`: where the fleet comes from, shared by every subcommand (list, show,
/// deploy, vars, secrets, the UI), like clan's `--flake` everywhere. `--repo` stays as an alias.
struct SourceOptions: ParsableArguments {
    @Option(help: "Path of a clan flake (default: ./flake.nix, then the config's `flake`, then the demo).")
    var flake: String?

    @Option(help: "A directory holding inventory.json (clan's serialization shape).")
    var inventory: String?

    @Option(name: .customLong("repo"), help: ArgumentHelp("A clan directory: --flake when it holds flake.nix, else --inventory.", valueName: "path"))
    var repo: String?

    /// `--flake`, then `--inventory`/`--repo`, then `./flake.nix`, then the config's default flake
    /// (`config` when the caller has it, else read from $XDG_CONFIG_HOME/fleet/config.toml), then the demo.
    func source(config: FleetConfig? = nil) throws -> InventorySource {
        let cwd = FileManager.default.currentDirectoryPath
        let env = ProcessInfo.processInfo.environment
        if let repo {
            guard flake == nil, inventory == nil else { throw CLIError("fleet: --repo is an alias of --flake/--inventory; pass only one of them") }
            return FileManager.default.fileExists(atPath: repo + "/flake.nix") ? .flake(path: repo) : .directory(path: repo)
        }
        if flake == nil, inventory == nil, !FileManager.default.fileExists(atPath: cwd + "/flake.nix"),
           let configured = try (config ?? Self.configFile(env))?.flake {
            return .flake(path: NSString(string: configured).expandingTildeInPath)
        }
        do { return try InventorySource.resolve(flake: flake, inventory: inventory, cwd: cwd, environment: env) } catch { throw CLIError("fleet: \(error)") }
    }

    /// The user's config file, nil when there is none; a broken one is a clear error.
    static func configFile(_ env: [String: String]) throws -> FleetConfig? {
        let path = UISettings.configPath(env)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("fleet: \(path): not UTF-8 text") }
        do { return try FleetConfig.parse(text, file: path) } catch { throw CLIError("fleet: \(error)") }
    }

    /// On stderr (stdout stays clean for --json): the command runs on the embedded demo, as the
    /// dashboard's DEMO badge says, because there is no clan here.
    static func noteDemo(_ source: InventorySource) {
        guard source.isDemo else { return }
        FileHandle.standardError.write(Data("fleet: DEMO — no clan here (no ./flake.nix, no --flake/--inventory, no `flake` in the config); showing the embedded demo fleet\n".utf8))
    }

    /// The authoritative inventory: `nix eval` for a flake (refreshing the cache), the files for a
    /// directory or the demo.
    func load() async throws -> Inventory {
        let src = try source()
        Self.noteDemo(src)
        return try await InventoryLoader(source: src).loadFresh()
    }

    /// The inventory with roles, targets and zerotier view resolved.
    func loadFleet() async throws -> ResolvedFleet {
        let (fleet, store) = try await loadFleetDeferringStore()
        _ = store?()
        return fleet
    }

    /// The same, for a directory source through the resolved-fleet cache, with the cache store for
    /// the caller to run after its output (`fleet list`).
    func loadFleetDeferringStore() async throws -> (fleet: ResolvedFleet, store: (@Sendable () -> UInt64?)?) {
        let src = try source()
        guard case .directory(let dir) = src else { return (ResolvedFleet(try await load()), nil) }
        return try ResolvedFleetCache(directory: InventoryCache.defaultDirectory()).loadFleet(source: dir)
    }

    /// The clan directory tag edits go to (`ClanLayout`); the pristine demo is read-only.
    func writableDirectory() async throws -> String {
        let src = try source()
        do { return try await ClanLayout.writableClanDirectory(src) } catch { throw CLIError("fleet: \(error)") }
    }

    /// The clan as `fleet vars` / `fleet secrets` see it: its clan directory (`clan.directory`), vars
    /// backend (only sops is supported) and evaluated machines. Announces the demo.
    func varsRepository() async throws -> VarsRepository {
        let src = try source()
        Self.noteDemo(src)
        do {
            let layout = try await ClanLayout.load(src)
            try layout.requireSopsBackend()
            return VarsRepository(layout: layout)
        } catch let e as CLIError { throw e } catch { throw CLIError("fleet: \(error)") }
    }
}

/// A failure the CLI reports as one line on stderr with a non-zero exit status.
/// ArgumentParser prints it as `Error: <description>`, so a leading "fleet: " is dropped.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message.hasPrefix("fleet: ") ? String(message.dropFirst(7)) : message }
}
