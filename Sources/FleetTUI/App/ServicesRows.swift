import FleetModel

/// One role of a service instance on the Services screen.
struct ServiceRoleRow: Equatable, Sendable {
    var ref: RoleRef
    /// The module, with `@input` when it comes from a flake input.
    var module: String
    var members: [String]
    var tags: [String]
}

/// The rows of the Services screen (the reducer counts them, the view draws them): every role of
/// every service instance that passes the screen's `/` filter.
enum ServicesRows {
    /// How many rows `rows` gives. Without a filter that is every role, counted without members: the
    /// reducer clamps every tab's cursor on each load, and members need the role resolution, which a
    /// warm start's first frame does without (`ResolvedFleet.resolution`).
    static func count(_ state: AppState) -> Int {
        guard let fleet = state.fleet else { return 0 }
        guard FilterMatcher(query: state.filters[.services] ?? "").isEmpty else { return rows(state).count }
        return fleet.inventory.instances.values.reduce(0) { $0 + $1.roles.count }
    }

    static func rows(_ state: AppState) -> [ServiceRoleRow] {
        guard let fleet = state.fleet else { return [] }
        let matcher = FilterMatcher(query: state.filters[.services] ?? "")
        var out: [ServiceRoleRow] = []
        for inst in fleet.inventory.instances.values {
            let module = inst.module.name + (inst.module.input.map { "@\($0)" } ?? "")
            for role in inst.roles.values {
                let ref = RoleRef(instance: inst.name, role: role.name)
                let members = fleet.resolution.members(of: ref)
                // Joining every member is O(fleet): only when a filter is set.
                if matcher.isEmpty
                    || matcher.matches(joined: ([inst.name, role.name, module] + members + Array(role.tags.keys))
                        .joined(separator: "\n").lowercased()) {
                    out.append(ServiceRoleRow(ref: ref, module: module, members: members, tags: Array(role.tags.keys)))
                }
            }
        }
        return out
    }
}
