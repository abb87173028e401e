import FleetModel

/// Everything that can change the app: input, resize, time, and results of background work.
/// They all arrive on one queue and are applied in order by the reducer.
public enum Event: Sendable {
    case key(Key)
    case resize(width: Int, height: Int)
    case tick
    case inventoryLoaded(Inventory)
    case inventoryFailed(String)
    /// SIGINT/SIGTERM/SIGHUP: leave cleanly, restoring the terminal.
    case terminate(signal: Int32)
}

/// Work the reducer asks for; performed at the edge (`EffectRunner`), results come back as Events.
public enum Effect: Equatable, Sendable {
    case quit
    case loadInventory(InventorySource)
}
