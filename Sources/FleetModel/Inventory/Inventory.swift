import Collections
import OrderedCollections

/// The clan inventory in its serialization shape (`inventorySerialization`: meta, machines,
/// instances, tags — clan-formats.md §1.3/§1.4).
public struct Inventory: Equatable, Sendable {
    public struct Meta: Equatable, Sendable {
        public var name: String
        public var domain: String
        public var description: String?
        public var icon: String?
        public init(name: String, domain: String = "clan", description: String? = nil, icon: String? = nil) {
            self.name = name
            self.domain = domain
            self.description = description
            self.icon = icon
        }
    }

    public var meta: Meta
    /// Machines by name, sorted by name (nix eval --json sorts keys).
    public var machines: OrderedDictionary<String, Machine>
    /// Service instances by name, in document order.
    public var instances: OrderedDictionary<String, ServiceInstance>
    /// `tags.<t>` = machine names, as the document lists them (evaluated: every tag in use, incl.
    /// `all`/`nixos`/`darwin`; `inventory.json`: only statically attached tags).
    public var tags: OrderedDictionary<String, [String]>
    /// Top-level fields we do not model, kept so they are not lost (unknown fields inside machines and
    /// instances are kept on those types).
    public var raw: JSONValue
    /// The clan directory this inventory belongs to (holds `vars/`, `sops/`, `inventory.json`), when
    /// known: set by the loaders.
    public var clanDirectory: String?

    public init(meta: Meta, machines: OrderedDictionary<String, Machine>,
                instances: OrderedDictionary<String, ServiceInstance> = OrderedDictionary(),
                tags: OrderedDictionary<String, [String]> = OrderedDictionary(),
                raw: JSONValue = .object(OrderedDictionary())) {
        self.meta = meta
        self.machines = machines
        self.instances = instances
        self.tags = tags
        self.raw = raw
    }

    /// The values array itself (no copy: at 10k machines a copy was 1.6 MB of the UI's peak).
    public var machineList: [Machine] { machines.values.elements }
}
