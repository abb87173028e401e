import ArgumentParser
import Foundation
import Collections
import FleetModel

/// `fleet list [--json]`: the machines of the fleet, like `clan machines list` with more columns.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the machines of the fleet.",
        discussion: """
        Examples:
          fleet list
          fleet list --tags nixos peer          machines carrying every listed tag (like clan)
          fleet list --json | python3 -m json.tool
        """)

    @OptionGroup var sourceOptions: SourceOptions

    @Option(parsing: .upToNextOption, help: "Only machines that carry all of these tags.")
    var tags: [String] = []

    @Flag(help: "Print a JSON array of machine objects.")
    var json = false

    func run() async throws {
        let fleet: ResolvedFleet
        do { fleet = try await sourceOptions.loadFleet() } catch { throw CLIError("fleet: \(error)") }
        let machines = fleet.inventory.machineList.filter { m in tags.allSatisfy { m.tags.contains($0) } }
        // A tag no machine carries is most likely a typo: say so (on stderr; stdout stays the table).
        let known = Set(fleet.inventory.machineList.flatMap(\.tags))
        for t in tags where !known.contains(t) {
            FileHandle.standardError.write(Data("warning: no machine has the tag '\(t)' (known tags: \(known.sorted().joined(separator: ", ")))\n".utf8))
        }
        if json {
            print(JSONWriter(indent: "  ").string(.array(machines.map { MachineJSON.object($0, fleet: fleet) })))
        } else {
            print(MachineTable.text(machines, fleet: fleet))
        }
    }
}

/// The JSON shape of a machine in `fleet list --json` / `fleet show --json`.
enum MachineJSON {
    static func object(_ m: Machine, fleet: ResolvedFleet? = nil) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        o["name"] = .string(m.name)
        o["class"] = .string(m.machineClass.rawValue)
        o["system"] = m.system.map { .string($0) } ?? .null
        o["tags"] = .array(m.tags.map { .string($0) })
        o["description"] = m.description.map { .string($0) } ?? .null
        o["targetHost"] = m.deploy.targetHost.map { .string($0) } ?? .null
        o["roles"] = .array((fleet?.roles(of: m.name) ?? []).map { .string($0) })
        o["target"] = fleet?.target(of: m.name).map { .string($0.address) } ?? .null
        o["overlayIP"] = fleet?.overlayIP(of: m.name).map { .string($0) } ?? .null
        o["buildHost"] = m.deploy.buildHost.map { .string($0) } ?? .null
        o["installedAt"] = m.installedAt.map { JSONValue($0) } ?? .null
        return .object(o)
    }

    static func array(_ inv: Inventory) -> JSONValue {
        .array(inv.machineList.map { object($0) })
    }
}

/// Plain-text table for terminals and pipes.
enum MachineTable {
    static func text(_ machines: [Machine], fleet: ResolvedFleet? = nil) -> String {
        let header = ["NAME", "CLASS", "SYSTEM", "TAGS", "ROLES", "TARGET", "DESCRIPTION"]
        let rows = machines.map { m in
            [m.name, m.machineClass.rawValue, m.system ?? "-", m.userTags.joined(separator: ","),
             FleetColumn.rolesText(fleet?.roles(of: m.name) ?? []),
             fleet?.target(of: m.name)?.address ?? m.deploy.targetHost ?? "-", m.description ?? ""]
        }
        var widths = header.map { DisplayWidth.of($0) }
        for r in rows { for (i, c) in r.enumerated() where i < header.count - 1 { widths[i] = max(widths[i], DisplayWidth.of(c)) } }
        func line(_ cols: [String]) -> String {
            cols.enumerated().map { i, c in i == cols.count - 1 ? c : DisplayWidth.pad(c, to: widths[i]) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
