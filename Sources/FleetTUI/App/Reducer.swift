import FleetModel

/// The only place state changes: `reduce(&state, event)` applies one event and returns the effects
/// to perform. Pure — no I/O — so every key binding is testable without a terminal.
public enum Reducer {
    public static func reduce(_ state: inout AppState, _ event: Event) -> [Effect] {
        switch event {
        case .resize(let w, let h):
            state.width = w
            state.height = h
            clampCursors(&state)
            return []
        case .tick:
            return []
        case .inventoryLoaded(let inv):
            // Keep the cursor on the same machine when fresh data replaces old data.
            let selected = state.machines.indices.contains(state.fleetCursor.row) ? state.machines[state.fleetCursor.row].name : nil
            state.inventory = inv
            state.loadError = nil
            if let selected, let idx = state.machines.firstIndex(where: { $0.name == selected }) {
                state.fleetCursor.row = idx
            }
            clampCursors(&state)
            return []
        case .inventoryFailed(let message):
            state.loadError = message
            return []
        case .terminate(let sig):
            state.exitSignal = sig
            state.running = false
            return [.quit]
        case .key(let key):
            return reduceKey(&state, key)
        }
    }

    private static func reduceKey(_ state: inout AppState, _ key: Key) -> [Effect] {
        let page = Layout.tableRows(height: state.height)
        switch key {
        case .char("q"), .ctrl("c"):
            state.running = false
            return [.quit]
        case .char("j"), .down: state.fleetCursor.row += 1
        case .char("k"), .up: state.fleetCursor.row -= 1
        case .char("g"), .home: state.fleetCursor.row = 0
        case .char("G"), .end: state.fleetCursor.row = max(0, state.machines.count - 1)
        case .pageDown, .ctrl("f"): state.fleetCursor.row += page
        case .pageUp, .ctrl("b"): state.fleetCursor.row -= page
        case .char(let c) where ("1"..."6").contains(c):
            if let n = c.wholeNumberValue, let tab = Tab(rawValue: n) { state.tab = tab }
        case .tab:
            state.tab = Tab(rawValue: state.tab.rawValue % Tab.allCases.count + 1) ?? .fleet
        case .backTab:
            state.tab = Tab(rawValue: (state.tab.rawValue + Tab.allCases.count - 2) % Tab.allCases.count + 1) ?? .fleet
        case .char("r"), .ctrl("r"):
            return [.loadInventory(state.source)]
        default:
            return []
        }
        clampCursors(&state)
        return []
    }

    static func clampCursors(_ state: inout AppState) {
        state.fleetCursor.clamp(count: state.machines.count, visible: Layout.tableRows(height: state.height))
    }
}
