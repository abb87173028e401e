import ArgumentParser
import FleetModel

/// `fleet tag add|remove MACHINE TAG`: edits `inventory.json` as clan does (lock, minimal write,
/// git commit `inventory.json: …`).
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Add or remove a tag of a machine in inventory.json.",
        discussion: """
        Writes inventory.json the way clan does (2-space JSON, only what you set), holding the lock \
        .git/clan.lock, and commits it as "inventory.json: add tag T to machine M". With \
        CLAN_NO_COMMIT=1 the file is only staged with --intent-to-add. Tags set in Nix code, and the \
        computed tags all/nixos/darwin, cannot be changed here.

        Examples:
          fleet tag add cinnabar backup --flake .
          fleet tag remove electrum peer --inventory ./inventory
        """,
        subcommands: [Add.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add TAG to MACHINE.",
            discussion: "Examples:\n  fleet tag add cinnabar backup\n  fleet tag add electrum peer --flake ~/my-clan")
        @OptionGroup var sourceOptions: SourceOptions
        @Argument(help: "Machine name.") var machine: String
        @Argument(help: "Tag to add.") var tag: String
        func run() async throws { try await TagCommand.edit(sourceOptions, machine: machine, tag: tag, add: true) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove TAG from MACHINE.",
            discussion: "Examples:\n  fleet tag remove cinnabar backup")
        @OptionGroup var sourceOptions: SourceOptions
        @Argument(help: "Machine name.") var machine: String
        @Argument(help: "Tag to remove.") var tag: String
        func run() async throws { try await TagCommand.edit(sourceOptions, machine: machine, tag: tag, add: false) }
    }

    static func edit(_ options: SourceOptions, machine: String, tag: String, add: Bool) async throws {
        let dir = try await options.writableDirectory()
        do {
            let current = try await options.load()
            try UsageFailure.checkMachines([machine], known: current.machines.keys)
            let writer = InventoryWriter(directory: dir)
            let outcome = add ? try await writer.addTag(tag, to: machine, evaluated: current)
                              : try await writer.removeTag(tag, from: machine, evaluated: current)
            if !outcome.changed {
                print("nothing to change: machine \(machine) \(add ? "already has" : "does not have") tag \(tag) in inventory.json")
            } else if outcome.committed {
                print("committed: \(outcome.message)")
            } else {
                print("written (not committed): \(outcome.message)")
            }
        } catch let e as CLIError {
            throw e
        } catch let e as ValidationError {
            throw e
        } catch {
            throw CLIError("fleet: \(error)")
        }
    }
}
