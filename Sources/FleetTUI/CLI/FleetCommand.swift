import ArgumentParser

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
}

enum FleetVersion {
    static let string = "0.1.0"
}
