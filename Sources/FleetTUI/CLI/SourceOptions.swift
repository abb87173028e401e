import ArgumentParser
import Foundation
import FleetModel

/// `--flake` / `--inventory`: where the fleet comes from, shared by every subcommand.
struct SourceOptions: ParsableArguments {
    @Option(help: "Path of a clan flake (default: ./flake.nix when present).")
    var flake: String?

    @Option(help: "A directory holding inventory.json (clan's serialization shape).")
    var inventory: String?

    func source() -> InventorySource {
        InventorySource.resolve(flake: flake, inventory: inventory,
                                cwd: FileManager.default.currentDirectoryPath,
                                environment: ProcessInfo.processInfo.environment)
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
