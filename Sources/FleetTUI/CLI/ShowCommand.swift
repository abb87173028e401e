import ArgumentParser
import FleetModel

/// `fleet show MACHINE [--json]`: one machine with its roles, services and settings, target, overlay IP.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one machine: tags, roles, services with their settings, deploy target.",
        discussion: """
        Examples:
          fleet show cinnabar
          fleet show cinnabar --json | python3 -m json.tool
        """)

    @OptionGroup var sourceOptions: SourceOptions
    @Argument(help: "Machine name.") var machine: String
    @Flag(help: "Print a JSON object.") var json = false

    func run() async throws {
        let fleet: ResolvedFleet
        do { fleet = try await sourceOptions.loadFleet() } catch { throw CLIError("fleet: \(error)") }
        guard let m = fleet.inventory.machines[machine] else {
            throw UsageFailure.unknownMachine(machine, known: Array(fleet.inventory.machines.keys))
        }
        if json {
            print(JSONWriter(indent: "  ").string(MachineReport.json(m, in: fleet)))
            return
        }
        var lines = ["\(m.name)  (\(m.machineClass.rawValue)\(m.system.map { ", " + $0 } ?? ""))"]
        if let d = m.description { lines.append("  \(d)") }
        lines.append("tags:     \(m.tags.joined(separator: " "))")
        if let t = fleet.target(of: m.name) { lines.append("target:   \(t.address)  [\(MachineReport.sourceName(t.source))]") }
        if let b = m.deploy.buildHost { lines.append("build:    \(b)") }
        lines.append("overlay:  \(fleet.overlayIP(of: m.name) ?? "-")")
        lines.append("services:")
        for a in fleet.services(of: m.name) {
            let why = (a.byName ? ["machine"] : []) + a.byTags.map { "tag " + $0 }
            lines.append("  \(a.ref)  (\(a.module.name)@\(a.module.input ?? "clan-core"); via \(why.joined(separator: ", ")))")
            if a.settings != .object([:]) { lines.append("    settings: \(JSONWriter.compact.string(a.settings))") }
        }
        print(lines.joined(separator: "\n"))
    }
}
