import ArgumentParser
import Foundation
import FleetModel

/// `--flake` / `--inventory`: where the fleet comes from, shared by every subcommand.
struct SourceOptions: ParsableArguments {
    @Option(help: "Path of a clan flake (default: ./flake.nix when present).")
    var flake: String?

    @Option(help: "A directory holding inventory.json (clan's serialization shape).")
    var inventory: String?

    /// `--flake`, then `--inventory`, then `./flake.nix`, then the config's default flake, then the demo.
    func source(config: FleetConfig? = nil) -> InventorySource {
        let cwd = FileManager.default.currentDirectoryPath
        let env = ProcessInfo.processInfo.environment
        if flake == nil, inventory == nil, !FileManager.default.fileExists(atPath: cwd + "/flake.nix"),
           let configured = config?.flake {
            return .flake(path: NSString(string: configured).expandingTildeInPath)
        }
        return InventorySource.resolve(flake: flake, inventory: inventory, cwd: cwd, environment: env)
    }

    /// The authoritative inventory: `nix eval` for a flake (refreshing the cache), the files for a
    /// directory or the demo.
    func load() async throws -> Inventory {
        try await InventoryLoader(source: source()).loadFresh()
    }

    /// The inventory with roles, targets and zerotier view resolved.
    func loadFleet() async throws -> ResolvedFleet {
        ResolvedFleet(try await load())
    }

    /// The clan directory tag edits go to; the demo is read-only.
    func writableDirectory() throws -> String {
        switch source() {
        case .demo:
            throw CLIError("fleet: the embedded demo fleet is read-only; pass --inventory DIR or --flake PATH")
        case .directory(let p):
            return p
        case .flake(let f):
            guard let dir = FlakeEvaluator.localDirectory(f) else {
                throw CLIError("fleet: \(f) is not a local flake; tags can only be edited in a local checkout")
            }
            return dir
        }
    }
}

/// A failure the CLI reports as one line on stderr with a non-zero exit status.
/// ArgumentParser prints it as `Error: <description>`, so a leading "fleet: " is dropped.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message.hasPrefix("fleet: ") ? String(message.dropFirst(7)) : message }
}
