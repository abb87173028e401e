import FleetModel

/// The Fleet table's columns: which fit a width (by priority, so DESCRIPTION goes first and NAME,
/// STATUS and SECRETS stay longest — issue 16), their order on screen, and how each sorts.
public enum FleetColumn: String, CaseIterable, Sendable {
    case name, machineClass = "class", system, tags, roles, target, overlay = "overlay-ip", secrets, status, description

    public var title: String {
        switch self {
        case .machineClass: return "CLASS"
        case .overlay: return "OVERLAY IP"
        default: return rawValue.uppercased()
        }
    }

    /// Kept first when room runs out (lower keeps longer).
    var priority: Int {
        switch self {
        case .name: return 0
        case .status: return 1
        case .secrets: return 2
        case .machineClass: return 3
        case .tags: return 4
        case .target: return 5
        case .roles: return 6
        case .system: return 7
        case .overlay: return 8
        case .description: return 9
        }
    }

    /// Shown only in the wide view (ctrl-w, as k9s).
    var wideOnly: Bool { self == .system || self == .overlay }

    /// Sizing at a given content width for the variable columns.
    func sizing(secretsWidth: Int) -> TableColumn.Sizing {
        switch self {
        case .name: return .fixed(10)
        case .machineClass: return .fixed(6)
        case .system: return .fixed(14)
        case .status: return .fixed(14)        // "never deployed"
        case .secrets: return .fixed(max(7, secretsWidth))
        case .overlay: return .fixed(15)
        case .tags: return .flex(weight: 3, min: 8)
        case .target: return .flex(weight: 2, min: 12)
        case .roles: return .flex(weight: 3, min: 8)
        case .description: return .flex(weight: 3, min: 11)
        }
    }

    /// The columns that fit `width`, in screen order. A column is added in priority order while the
    /// minimum widths of everything chosen (plus gaps and the cursor/mark indicator) still fit.
    static func layout(width: Int, wide: Bool, secretsWidth: Int) -> [(FleetColumn, TableColumn)] {
        let candidates = allCases.filter { wide || !$0.wideOnly }.sorted { $0.priority < $1.priority }
        var chosen: Set<FleetColumn> = []
        var used = 2   // cursor + mark
        for c in candidates {
            let w: Int
            switch c.sizing(secretsWidth: secretsWidth) {
            case .fixed(let n): w = n
            case .flex(_, let mn): w = mn
            }
            let extra = w + (chosen.isEmpty ? 0 : 2)
            if used + extra <= width || chosen.isEmpty {
                chosen.insert(c)
                used += extra
            }
        }
        return allCases.filter { chosen.contains($0) }.map { ($0, TableColumn($0.title, $0.sizing(secretsWidth: secretsWidth))) }
    }
}

extension FleetColumn {
    /// The columns shown for the state's wide toggle and vars at `width`.
    static func visible(_ state: AppState, width: Int) -> [(FleetColumn, TableColumn)] {
        layout(width: width, wide: state.fleetWide, secretsWidth: max(7, state.vars?.longestHealth ?? 0))
    }

    /// Sort rank of a status: what needs attention first.
    static func statusRank(_ s: HostStatus?) -> Int {
        guard let s else { return 5 }
        switch s.reachability {
        case .unreachable: return 0
        case .noTarget: return 6
        case .reachable:
            if s.runningSystem == nil { return 2 }
            switch s.inSync { case false?: return 1; case true?: return 4; case nil: return 3 }
        }
    }

    /// Roles most specific first: held by name, then through a user tag, then through the implicit
    /// all/nixos/darwin tags (which every machine of a class shares, so they say the least).
    static func orderedRoles(_ machine: String, fleet: ResolvedFleet?) -> [String] {
        guard let fleet else { return [] }
        // Every visible row asks for this on every frame: no sort when already in order.
        let held = fleet.rolesHeld(of: machine)
        if zip(held, held.dropFirst()).allSatisfy({ $0.holding <= $1.holding }) { return held.map(\.role) }
        return held.enumerated()
            .sorted { l, r in (l.element.holding, l.offset) < (r.element.holding, r.offset) }
            .map(\.element.role)
    }

    /// Roles shown compactly: `zerotier/controller` stays, `default` roles show the instance only.
    static func rolesText(_ roles: [String]) -> String {
        roles.map { $0.hasSuffix("/default") ? String($0.dropLast(8)) : $0 }.joined(separator: ",")
    }

}

/// How the Fleet table is ordered: by a column, either way (k9s: shift-letter, again inverts).
public struct FleetSort: Equatable, Sendable {
    public var column: FleetColumn
    public var descending = false
}
