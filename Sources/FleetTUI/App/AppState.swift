import FleetModel

public enum Tab: Int, CaseIterable, Sendable {
    case fleet = 1, services, deploy, vars, network, history

    public var title: String {
        switch self {
        case .fleet: return "Fleet"
        case .services: return "Services"
        case .deploy: return "Deploy"
        case .vars: return "Vars"
        case .network: return "Network"
        case .history: return "History"
        }
    }

    /// For narrow terminals.
    public var shortTitle: String {
        switch self {
        case .services: return "Svc"
        case .network: return "Net"
        case .history: return "Hist"
        default: return title
        }
    }
}

/// Cursor and scroll position of a table; `offset` is the first visible row.
public struct TableCursor: Equatable, Sendable {
    public var row = 0
    public var offset = 0

    /// Keeps `row` inside `0..<count` and visible in a viewport of `visible` rows.
    public mutating func clamp(count: Int, visible: Int) {
        row = count == 0 ? 0 : min(max(0, row), count - 1)
        let v = max(1, visible)
        if row < offset { offset = row }
        if row >= offset + v { offset = row - v + 1 }
        offset = max(0, min(offset, max(0, count - v)))
    }
}

/// The whole UI state as plain values. Views are functions of it; only the reducer changes it.
public struct AppState: Equatable, Sendable {
    public var source: InventorySource
    public var inventory: Inventory?
    public var loadError: String?
    public var tab: Tab = .fleet
    public var fleetCursor = TableCursor()
    public var width: Int
    public var height: Int
    public var running = true
    /// Set when a signal asked us to stop, so the exit status can reflect it.
    public var exitSignal: Int32?

    public init(source: InventorySource, width: Int, height: Int) {
        self.source = source
        self.width = width
        self.height = height
    }

    public var machines: [Machine] { inventory?.machineList ?? [] }
}
