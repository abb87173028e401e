import Collections

/// The clan inventory in its serialization shape (`inventorySerialization`: meta, machines,
/// instances, tags — clan-formats.md §1.3/§1.4).
public struct Inventory: Equatable, Sendable {
    public struct Meta: Equatable, Sendable {
        public var name: String
        public var domain: String
        public var description: String?
        public init(name: String, domain: String = "clan", description: String? = nil) {
            self.name = name
            self.domain = domain
            self.description = description
        }
    }

    public var meta: Meta
    /// Machines by name, sorted by name (nix eval --json sorts keys).
    public var machines: OrderedDictionary<String, Machine>
    /// The raw document, so fields we do not model are kept, not lost.
    public var raw: JSONValue

    public init(meta: Meta, machines: OrderedDictionary<String, Machine>, raw: JSONValue = .object([:])) {
        self.meta = meta
        self.machines = machines
        self.raw = raw
    }

    public var machineList: [Machine] { Array(machines.values) }
}
