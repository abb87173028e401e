import ArgumentParser
import FleetModel

/// `fleet demo generate --machines N --dir PATH`: synthetic fleets for benchmarks.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Demo and benchmark fleets.",
        subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write a synthetic fleet of N machines as a directory source.",
            discussion: """
            Writes inventory.json (evaluated shape, wrapped settings), systems.json and the zerotier IPs \
            under vars/shared/. Open it with `fleet --inventory PATH`.

            Examples:
              fleet demo generate --machines 10000 --dir /tmp/fleet-10k
            """)

        @Option(help: "Number of machines.") var machines: Int = 10_000
        @Option(help: "Directory to write (created if needed).") var dir: String
        @Option(help: "Random seed (same seed, same fleet).") var seed: UInt64 = 1
        @Flag(help: "Do not write vars/ (zerotier IPs).") var noVars = false

        func validate() throws {
            guard machines >= 0 && machines <= 1_000_000 else { throw ValidationError("--machines must be between 0 and 1000000") }
        }

        func run() throws {
            do {
                try SyntheticFleet(machines: machines, seed: seed, withZerotierVars: !noVars).write(to: dir)
            } catch {
                throw CLIError("fleet: cannot write \(dir): \(error)")
            }
            print("wrote \(machines) machines to \(dir)")
        }
    }
}
