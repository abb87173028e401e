import FleetModel

/// The Fleet screen's `/` filter index: one lower-cased line per machine, built once per inventory.
enum FleetSearch {
    /// What the `/` filter searches: name, tags, roles and description, lower-cased.
    static func searchFields(_ m: Machine, fleet: ResolvedFleet?) -> [String] {
        [m.name.lowercased(), m.tags.joined(separator: " ").lowercased(),
         (fleet?.roles(of: m.name) ?? []).joined(separator: " ").lowercased(), (m.description ?? "").lowercased()]
    }
}
