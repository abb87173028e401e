// Entry point of the `fleet` executable; everything else lives in CLI/, App/, Views/, Backend/.
import Foundation

let commands = FleetCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
switch CommandLineRewrite.rewrite(Array(CommandLine.arguments.dropFirst()), commands: commands) {
case .run(let args):
    FleetCommand.main(args)
case .unknownCommand(let word):
    let list = FleetCommand.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { c in
        "  " + (c.configuration.commandName ?? "").padding(toLength: 10, withPad: " ", startingAt: 0) + c.configuration.abstract
    }
    FileHandle.standardError.write(Data(("Error: unknown command '\(word)'. Commands:\n" + list.joined(separator: "\n")
        + "\nSee 'fleet --help' (or 'fleet help COMMAND').\n").utf8))
    exit(64)
}
