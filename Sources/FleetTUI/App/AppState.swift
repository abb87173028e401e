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

    public static func named(_ s: String) -> Tab? {
        let l = s.lowercased()
        return Tab.allCases.first { $0.title.lowercased() == l || $0.shortTitle.lowercased() == l || String($0.rawValue) == l }
    }
}

/// Cursor and scroll position of a table; `offset` is the first visible row.
public struct TableCursor: Equatable, Sendable {
    public var row = 0
    public var offset = 0

    public init(row: Int = 0, offset: Int = 0) {
        self.row = row
        self.offset = offset
    }

    /// Keeps `row` inside `0..<count` and visible in a viewport of `visible` rows.
    public mutating func clamp(count: Int, visible: Int) {
        row = count == 0 ? 0 : min(max(0, row), count - 1)
        let v = max(1, visible)
        if row < offset { offset = row }
        if row >= offset + v { offset = row - v + 1 }
        offset = max(0, min(offset, max(0, count - v)))
    }
}

/// A short message in the corner; background results and errors arrive as toasts.
public struct Toast: Equatable, Sendable {
    public enum Kind: Sendable { case info, success, error }
    public var text: String
    public var kind: Kind
    /// On the app clock (`AppState.clock`, seconds).
    public var expiresAt: Double
}

/// A question that must be answered before something destructive or long happens.
public struct ConfirmDialog: Equatable, Sendable {
    public var title: String
    public var lines: [String]
    public var confirmLabel: String
    public var onConfirm: [Effect]
    /// State changes to apply on confirm (e.g. quitting), as actions.
    public var quitOnConfirm = false
}

/// The overlays drawn above the current screen; at most one at a time, and it gets the keys.
public enum Overlay: Equatable, Sendable {
    case help(scroll: Int)
    case palette(PaletteState)
    case tagSelector(TagSelectorState)
    case confirm(ConfirmDialog)
    case tagEdit(TagEditState)
    case varsPrompt(VarsPromptState)
    /// A secret value shown on an explicit reveal; any key closes it and the value is dropped.
    case reveal(title: String, value: String)
    /// A scrollable text, e.g. a past deploy's logs from the history.
    case text(title: String, lines: [String], scroll: Int)
}

/// The `t` prompt on the Fleet screen: words add tags, `-word` removes one.
public struct TagEditState: Equatable, Sendable {
    public var machine: String
    public var currentTags: [String]
    public var input = ""
    public var error: String?
}

public struct TagSelectorState: Equatable, Sendable {
    public var tags: [(name: String, count: Int)]
    public var selected: Set<String>
    public var cursor = TableCursor()

    public static func == (a: TagSelectorState, b: TagSelectorState) -> Bool {
        a.tags.map(\.name) == b.tags.map(\.name) && a.tags.map(\.count) == b.tags.map(\.count)
            && a.selected == b.selected && a.cursor == b.cursor
    }
}

/// The whole UI state as plain values. Views are functions of it; only the reducer changes it.
public struct AppState: Equatable, Sendable {
    public var source: InventorySource
    public private(set) var inventory: Inventory?
    /// Roles, services, targets and overlay addresses, resolved off the UI thread with the inventory.
    public private(set) var fleet: ResolvedFleet?
    /// Machines in display order (kept as an array: 10k-row screens index it every frame).
    public private(set) var machines: [Machine] = []
    public var loadError: String?
    /// True while a fresher inventory is being evaluated behind the one on screen.
    public var revalidating = false
    /// Whether the last inventory was a provisional one (probes start on the first fresh one).
    public var revalidatingWasLast = false
    public var tab: Tab = .fleet
    public var cursors: [Tab: TableCursor] = [:]
    /// Per-screen filter queries; `filterEditing` is true while the `/` line takes keys.
    public var filters: [Tab: String] = [:]
    public var filterEditing = false
    /// Indices into `machines` that pass the Fleet filter, recomputed when the filter or data change.
    public private(set) var fleetRows: [Int] = []
    /// One lower-cased line per machine with every searchable field, built once per inventory so a
    /// filter keystroke over 10k machines is one substring scan each.
    public private(set) var fleetSearchIndex: [String] = []
    /// Marked machines, by name: the set deploys and bulk actions apply to.
    public var marks: Set<String> = []
    public var overlay: Overlay?
    /// The Fleet screen's detail pane (enter toggles it).
    public var detailOpen = false
    /// The Vars screen: the tree (nil until loaded), a load error, and the current job.
    public var vars: VarsData?
    public var varsError: String?
    public var varsJob: VarsJob?
    /// The Deploy and History screens.
    public var deploy = DeployScreen()
    public var history: [HistoryEntry] = []
    public var historyError: String?
    /// Background probe results per machine.
    public var hostStatus: [String: HostStatus] = [:]
    public var toasts: [Toast] = []
    public var paletteHistory: [String] = []
    public var width: Int
    public var height: Int
    /// Seconds on a monotonic clock, advanced by tick events (toasts expire on it).
    public var clock: Double = 0
    /// Whole seconds of `clock` while a deploy runs (elapsed times on screen change once a second).
    public var clockSecond: Int = 0
    public var theme: Theme = .defaultDark
    public var glyphs: Glyphs = .unicode
    public var keyMap: KeyMap = .default
    public var running = true
    /// Set when a signal asked us to stop, so the exit status can reflect it.
    public var exitSignal: Int32?
    /// True while a deploy runs (quitting asks first).
    public var deployRunning = false

    public init(source: InventorySource, width: Int, height: Int) {
        self.source = source
        self.width = width
        self.height = height
    }

    public static func == (a: AppState, b: AppState) -> Bool {
        // KeyMap holds no Equatable closures; compare everything that affects a frame.
        a.source == b.source && a.inventory == b.inventory && a.loadError == b.loadError
            && a.revalidating == b.revalidating && a.tab == b.tab && a.cursors == b.cursors
            && a.filters == b.filters && a.filterEditing == b.filterEditing && a.fleetRows == b.fleetRows
            && a.marks == b.marks && a.overlay == b.overlay && a.toasts == b.toasts && a.width == b.width
            && a.height == b.height && a.theme == b.theme && a.glyphs == b.glyphs && a.running == b.running
            && a.exitSignal == b.exitSignal && a.deployRunning == b.deployRunning
            && a.paletteHistory == b.paletteHistory && a.detailOpen == b.detailOpen
            && a.vars == b.vars && a.varsError == b.varsError && a.varsJob == b.varsJob
            && a.deploy == b.deploy && a.history == b.history && a.historyError == b.historyError && a.clockSecond == b.clockSecond && a.hostStatus == b.hostStatus
    }

    public mutating func setFleet(_ resolved: ResolvedFleet?) {
        fleet = resolved
        setInventory(resolved?.inventory)
    }

    public mutating func setInventory(_ inv: Inventory?) {
        inventory = inv
        if fleet?.inventory != inv { fleet = inv.map { ResolvedFleet($0) } }
        machines = inv?.machineList ?? []
        // Built when a filter needs it (`/` opens the line): the first frame does not wait for it.
        fleetSearchIndex = []
        recomputeFleetRows()
    }

    /// The search lines of every machine, built on first use after each inventory.
    public mutating func buildSearchIndexIfNeeded() {
        guard fleetSearchIndex.count != machines.count else { return }
        fleetSearchIndex = machines.map { FleetView.searchFields($0, fleet: fleet).joined(separator: "\n") }
    }

    public var fleetFilter: String { filters[.fleet] ?? "" }

    public mutating func recomputeFleetRows() {
        let matcher = FilterMatcher(query: fleetFilter)
        if matcher.isEmpty {
            fleetRows = Array(machines.indices)
        } else {
            buildSearchIndexIfNeeded()
            fleetRows = machines.indices.filter { matcher.matches(joined: fleetSearchIndex[$0]) }
        }
    }

    public func cursor(_ tab: Tab) -> TableCursor { cursors[tab] ?? TableCursor() }

    /// The machine under the Fleet cursor, if any.
    public var selectedMachine: Machine? {
        let c = cursor(.fleet).row
        return fleetRows.indices.contains(c) ? machines[fleetRows[c]] : nil
    }

    /// Machines an action applies to: the marked ones, else the one under the cursor.
    public var targetMachines: [String] {
        if !marks.isEmpty { return machines.map(\.name).filter { marks.contains($0) } }
        return selectedMachine.map { [$0.name] } ?? []
    }

    /// Every tag with the number of machines carrying it, sorted by name.
    public var tagCounts: [(name: String, count: Int)] {
        var counts: [String: Int] = [:]
        for m in machines { for t in m.tags { counts[t, default: 0] += 1 } }
        return counts.keys.sorted().map { ($0, counts[$0]!) }
    }
}
