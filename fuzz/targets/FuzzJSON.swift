/// JSON parser + inventory decoder + resolution, and the generators file (generator definitions with
/// names that become paths): what fleet does with `inventory.json`, `generators.json` or the output
/// of `nix eval --json`. Also checks that what the parser accepts, the writer writes back to
/// text the parser reads as the same value (the file round-trip every inventory edit relies on).
enum FuzzJSON {
    static func run(_ bytes: [UInt8]) {
        guard let value = try? JSONParser.parse(bytes) else { return }
        for writer in [JSONWriter.python2, JSONWriter.compact] {
            let text = writer.string(value)
            let again = try? JSONParser.parse(text)
            FuzzCheck.require(again == value, "JSON round trip changed the value: \(text.prefix(200))")
        }
        _ = try? GeneratorsFile(path: "generators.json").parse(value)
        guard let inventory = try? InventoryDecoder(file: "inventory.json").decode(value) else { return }
        let fleet = ResolvedFleet(inventory)
        for m in inventory.machineList {
            _ = fleet.roles(of: m.name)
            _ = fleet.target(of: m.name)
            _ = MachineReport.json(m, in: fleet)
        }
    }
}
