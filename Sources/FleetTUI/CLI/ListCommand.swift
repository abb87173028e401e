import ArgumentParser
import Collections
import FleetModel

/// `fleet list [--json]`: the machines of the fleet, like `clan machines list` with more columns.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the machines of the fleet.",
        discussion: """
        Examples:
          fleet list
          fleet list --json | python3 -m json.tool
        """)

    @OptionGroup var sourceOptions: SourceOptions

    @Flag(help: "Print a JSON array of machine objects.")
    var json = false

    func run() throws {
        let inv: Inventory
        do { inv = try sourceOptions.load() } catch { throw CLIError("fleet: \(error)") }
        if json {
            print(JSONWriter(indent: "  ").string(MachineJSON.array(inv)))
        } else {
            print(MachineTable.text(inv.machineList))
        }
    }
}

/// The JSON shape of a machine in `fleet list --json` / `fleet show --json`.
enum MachineJSON {
    static func object(_ m: Machine) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        o["name"] = .string(m.name)
        o["class"] = .string(m.machineClass.rawValue)
        o["system"] = m.system.map { .string($0) } ?? .null
        o["tags"] = .array(m.tags.map { .string($0) })
        o["description"] = m.description.map { .string($0) } ?? .null
        o["targetHost"] = m.deploy.targetHost.map { .string($0) } ?? .null
        o["buildHost"] = m.deploy.buildHost.map { .string($0) } ?? .null
        o["installedAt"] = m.installedAt.map { JSONValue($0) } ?? .null
        return .object(o)
    }

    static func array(_ inv: Inventory) -> JSONValue {
        .array(inv.machineList.map(object))
    }
}

/// Plain-text table for terminals and pipes.
enum MachineTable {
    static func text(_ machines: [Machine]) -> String {
        let header = ["NAME", "CLASS", "SYSTEM", "TAGS", "TARGET", "DESCRIPTION"]
        let rows = machines.map { m in
            [m.name, m.machineClass.rawValue, m.system ?? "-", m.userTags.joined(separator: ","),
             m.deploy.targetHost ?? "-", m.description ?? ""]
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
