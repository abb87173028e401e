import ArgumentParser

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet", abstract: "A terminal dashboard for clan fleets.")
    func run() throws { print("fleet") }
}
