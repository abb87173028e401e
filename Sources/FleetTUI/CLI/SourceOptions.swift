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

    func load() throws -> Inventory {
        try InventoryLoading.loadSync(source())
    }
}

/// A failure the CLI reports as one line on stderr with a non-zero exit status.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
