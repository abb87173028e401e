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
    /// The choice enter takes: confirm (the default) or cancel; move-down/move-up switch it.
    public var cancelSelected = false
    /// Effects of a "no" (a deploy waiting for the answer must hear it).
    public var onCancel: [Effect] = []
    /// A second answer besides yes and no (e.g. `g` generate the missing vars first).
    public var alternative: ConfirmAlternative?
    /// The deploy question built from what is known now (`Reducer.deployConfirmation`): it is rebuilt
    /// when vars or probes arrive. Other dialogs that also end in a deploy keep their own text.
    public var followsFleetState = false
}

public struct ConfirmAlternative: Equatable, Sendable {
    public var key: Character
    public var label: String
    public var effects: [Effect]
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

/// A tag and how many machines carry it.
public struct TagCount: Equatable, Sendable {
    public var name: String
    public var count: Int
}

public struct TagSelectorState: Equatable, Sendable {
    public var tags: [TagCount]
    public var selected: Set<String>
    public var cursor = TableCursor()
}

/// The loaded inventory and what is derived from it once per load. Compared by identity: every
/// load makes a new one, so comparing two states (the event loop does it after every event to
/// decide whether to draw) is O(1) however many machines there are.
public struct LoadedFleet: Equatable, Sendable {
    private final class Identity: Sendable {}
    private let identity = Identity()
    public let fleet: ResolvedFleet
    /// Machines in display order (kept as an array: 10k-row screens index it every frame).
    public let machines: [Machine]
    /// One lower-cased line per machine with every searchable field (`FleetSearchIndex`: names and
    /// the distinct rests of the lines), so a filter keystroke over 10k machines is a byte search or
    /// two each. Built off the UI thread (`Event.fleetCompleted`);
    /// nil until then, when a filter computes the lines it tests as it goes.
    let searchIndex: FleetSearchIndex?
    /// How many machines the fleet has: `machines.count`, except in a preview (only the first
    /// screen's machines are decoded).
    public let machineCount: Int

    init(_ fleet: ResolvedFleet, searchIndex: FleetSearchIndex? = nil, machines: [Machine]? = nil) {
        self.fleet = fleet
        self.machines = machines ?? fleet.inventory.machineList
        self.searchIndex = searchIndex
        machineCount = self.machines.count
    }

    /// A preview's first rows standing for a fleet of `machineCount` machines (`AppState.previewing`).
    init(preview: FleetPreview) {
        fleet = preview.fleet
        machines = preview.fleet.inventory.machineList
        searchIndex = nil
        machineCount = preview.machineCount
    }

    /// The search line of machine `i` (of `machines`).
    func searchLine(_ i: Int) -> String {
        searchIndex?.line(i) ?? FleetSearch.line(machines[i], fleet: fleet)
    }

    public static func == (a: LoadedFleet, b: LoadedFleet) -> Bool { a.identity === b.identity }
}

/// The whole UI state as plain values. Views are functions of it; only the reducer changes it.
public struct AppState: Equatable, Sendable {
    public var source: InventorySource
    /// The inventory with roles, services, targets and overlay addresses resolved off the UI thread.
    public private(set) var loaded: LoadedFleet?
    public var inventory: Inventory? { loaded?.fleet.inventory }
    public var fleet: ResolvedFleet? { loaded?.fleet }
    /// Machines in display order.
    public var machines: [Machine] { loaded?.machines ?? [] }
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
    /// The Fleet table's order (nil: inventory order) and whether it shows the wide columns.
    public var fleetSort: FleetSort?
    public var fleetWide = false
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
    /// History lists this fleet's runs; every fleet's only on request (`a` on the History screen).
    public var historyAllFleets = false
    public var historyError: String?
    /// Background probe results per machine.
    public var hostStatus: [String: HostStatus] = [:]
    /// Flake sources: each machine's target as the deploy resolves it from the evaluated config.
    public var configTargets: ResolvedTargets?
    public var toasts: [Toast] = []
    public var paletteHistory: [String] = []
    /// Themes the palette offers, listed once at start (`Effect.loadThemeNames`).
    public var themeNames: [String] = ["default"]
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

    /// Effects waiting for the loaded fleet's addresses (`Event.fleetCompleted`): the vars load and
    /// the status probes, which need every target.
    public var pendingLoadVars = false
    public var pendingProbes = false

    /// Takes a fleet resolved off the UI thread (resolving reads vars/ for overlay addresses).
    public mutating func setFleet(_ resolved: ResolvedFleet?) {
        loaded = resolved.map { LoadedFleet($0) }
        recomputeFleetRows()
    }

    /// The loaded fleet's completion (same inventory): every address, and the search index.
    mutating func completeFleet(_ resolved: ResolvedFleet, searchIndex: FleetSearchIndex) {
        loaded = LoadedFleet(resolved, searchIndex: searchIndex, machines: loaded?.machines)
        recomputeFleetRows()
    }

    public var fleetFilter: String { filters[.fleet] ?? "" }

    public mutating func recomputeFleetRows() {
        let matcher = FilterMatcher(query: fleetFilter)
        if matcher.isEmpty {
            fleetRows = Array(machines.indices)
        } else {
            let loaded = self.loaded
            if let index = loaded?.searchIndex {
                let bytewise = matcher.termsAreBytewise
                fleetRows = machines.indices.filter { index.matches($0, matcher, bytewise: bytewise) }
            } else {
                fleetRows = machines.indices.filter { matcher.matches(joined: loaded?.searchLine($0) ?? "") }
            }
        }
        if let fleetSort { fleetRows = sortedFleetRows(fleetRows, by: fleetSort) }
    }

    /// Rows ordered by a column (stable: ties keep inventory order), either way.
    func sortedFleetRows(_ rows: [Int], by sort: FleetSort) -> [Int] {
        let ms = machines
        func key(_ i: Int) -> String {
            let m = ms[i]
            switch sort.column {
            case .name: return m.name
            case .machineClass: return m.machineClass.rawValue
            case .system: return m.system ?? ""
            case .tags: return m.userTags.joined(separator: ",")
            case .roles: return FleetColumn.rolesText(FleetColumn.orderedRoles(m.name, fleet: fleet))
            case .target: return deployTarget(of: m.name)?.address ?? m.deploy.targetHost ?? ""
            case .overlay: return fleet?.overlayIP(of: m.name) ?? ""
            case .secrets:
                guard let h = vars?.health[m.name] else { return "2" }
                return (h.ok ? "1" : "0") + h.summary
            case .status: return String(FleetColumn.statusRank(hostStatus[m.name]))
            case .description: return m.description ?? ""
            }
        }
        let keyed = rows.map { (key($0), $0) }
        let sorted = keyed.sorted { a, b in a.0 == b.0 ? a.1 < b.1 : (sort.descending ? a.0 > b.0 : a.0 < b.0) }
        return sorted.map(\.1)
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

    /// The state the whole fleet's `Event.inventoryLoaded` would give, for drawing its first frame
    /// from a preview (`EventLoop`): the Fleet table at the top in inventory order, every row on
    /// screen among the preview's. Nil when that frame would show anything the preview does not
    /// hold (another screen, a filter or sort, the detail pane, an overlay, a taller table), or once
    /// an inventory or a load error is there. Never reduced: keys go to the real state.
    func previewing(_ preview: FleetPreview) -> AppState? {
        let first = preview.fleet.inventory.machines.count
        guard loaded == nil, loadError == nil, tab == .fleet, filters.values.allSatisfy(\.isEmpty), !filterEditing,
              fleetSort == nil, !detailOpen, overlay == nil, marks.isEmpty, cursor(.fleet) == TableCursor(),
              preview.machineCount > first, Layout.tableRows(height: height) < first else { return nil }
        var s = self
        s.loaded = LoadedFleet(preview: preview)
        s.fleetRows = Array(0..<preview.machineCount)
        return s
    }

    /// Every tag with the number of machines carrying it, sorted by name.
    public var tagCounts: [TagCount] {
        var counts: [String: Int] = [:]
        for m in machines { for t in m.tags { counts[t, default: 0] += 1 } }
        return counts.keys.sorted().map { TagCount(name: $0, count: counts[$0]!) }
    }
}
