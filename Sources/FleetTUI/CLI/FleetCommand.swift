import ArgumentParser
import Foundation

/// `fleet` — the root command and the executable's entry point. With no subcommand it opens the
/// dashboard; everything else lives in CLI/, App/, Views/, Backend/.
@main
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "A keyboard-driven dashboard and CLI for clan fleets.",
        discussion: """
        Without --flake or --inventory, fleet reads ./flake.nix when present, otherwise the embedded \
        demo fleet (shown with a DEMO badge).

        Every subcommand logs to $XDG_STATE_HOME/fleet/fleet.log (default ~/.local/state/fleet/fleet.log, \
        rotated at 1 MiB, never a secret); --log-level LEVEL or $FLEET_LOG sets the level (trace, debug, \
        info — the default —, notice, warning, error, critical).

        Examples:
          fleet                      open the dashboard
          fleet list --json          machines as JSON
        """,
        version: FleetVersion.string,
        subcommands: [UICommand.self, ListCommand.self, ShowCommand.self, TagCommand.self, DeployCommand.self,
                      RollbackCommand.self, VarsCommand.self, SecretsCommand.self, DemoCommand.self,
                      BenchCommand.self],
        defaultSubcommand: UICommand.self
    )

    /// The log file first (`LogSetup` takes `--log-level` out), then the command line is shaped
    /// (`CommandLineRewrite`: options before the subcommand, an unknown subcommand named with the
    /// list of commands), then parsed by ArgumentParser.
    static func main() async {
        let commands = configuration.subcommands.compactMap { $0.configuration.commandName }
        let arguments = LogSetup.bootstrap(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        switch CommandLineRewrite.rewrite(arguments, commands: commands) {
        case .run(let args):
            await main(args)
        case .unknownCommand(let word):
            let list = configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { c in
                "  " + (c.configuration.commandName ?? "").padding(toLength: 10, withPad: " ", startingAt: 0) + c.configuration.abstract
            }
            FileHandle.standardError.write(Data(("Error: unknown command '\(word)'. Commands:\n" + list.joined(separator: "\n")
                + "\nSee 'fleet --help' (or 'fleet help COMMAND').\n").utf8))
            Foundation.exit(64)
        }
    }
}

enum FleetVersion {
    static let string = "0.1.0"
}
