import FleetModel

/// The Fleet screen's `/` filter index: one lower-cased line per machine, built once per inventory.
enum FleetSearch {
    /// What the `/` filter searches: name, tags, roles and description, lower-cased.
    static func searchFields(_ m: Machine, fleet: ResolvedFleet?) -> [String] {
        [m.name.lowercased(), m.tags.joined(separator: " ").lowercased(),
         (fleet?.roles(of: m.name) ?? []).joined(separator: " ").lowercased(), (m.description ?? "").lowercased()]
    }

    /// The fields as one line (what the filter matches against).
    static func line(_ m: Machine, fleet: ResolvedFleet?) -> String {
        searchFields(m, fleet: fleet).joined(separator: "\n")
    }

    /// One line per machine of the inventory, in its order (built off the UI thread).
    static func index(_ fleet: ResolvedFleet) -> [String] {
        fleet.inventory.machines.values.map { line($0, fleet: fleet) }
    }
}
