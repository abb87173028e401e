import Collections
import OrderedCollections

/// `inventory.instances.<name>`: one clan service instance (clan-formats.md §1.2, role.nix).
public struct ServiceInstance: Equatable, Sendable {
    public struct Module: Equatable, Sendable {
        /// `module.name`; defaults to the instance name.
        public var name: String
        /// `module.input`: nil = built-in clan-core module, `"self"` = this flake, else a flake input.
        public var input: String?
        public init(name: String, input: String? = nil) {
            self.name = name
            self.input = input
        }
    }

    public var name: String
    public var module: Module
    /// Roles in document order (`nix eval --json` sorts them).
    public var roles: OrderedDictionary<String, Role>
    /// Fields of the instance we do not model, kept verbatim.
    public var extra: OrderedDictionary<String, JSONValue>

    public init(name: String, module: Module, roles: OrderedDictionary<String, Role> = [:],
                extra: OrderedDictionary<String, JSONValue> = [:]) {
        self.name = name
        self.module = module
        self.roles = roles
        self.extra = extra
    }
}

/// `instances.<i>.roles.<r>`: who holds the role and with which settings.
public struct Role: Equatable, Sendable {
    public var name: String
    /// `machines.<m>.settings`, unwrapped.
    public var machines: OrderedDictionary<String, Settings>
    /// `tags.<t>.settings`, unwrapped (a list of tag names in the input form becomes empty settings,
    /// as clan's type coercion does).
    public var tags: OrderedDictionary<String, Settings>
    /// Role-wide `settings`, unwrapped.
    public var settings: Settings
    public var extra: OrderedDictionary<String, JSONValue>

    public init(name: String, machines: OrderedDictionary<String, Settings> = [:],
                tags: OrderedDictionary<String, Settings> = [:], settings: Settings = Settings(),
                extra: OrderedDictionary<String, JSONValue> = [:]) {
        self.name = name
        self.machines = machines
        self.tags = tags
        self.settings = settings
        self.extra = extra
    }
}

/// A settings value with the wrapper of the evaluated serialization removed
/// (`{"imports":[{"_file":"<file>, via option <loc>","imports":[VALUE]}]}` → VALUE).
public struct Settings: Equatable, Sendable {
    /// The settings object (`{}` when none were given).
    public var value: JSONValue
    /// Where Nix says they were defined (`_file` of the wrapper), when the input was wrapped.
    public var definedIn: String?

    public init(_ value: JSONValue = .object([:]), definedIn: String? = nil) {
        self.value = value
        self.definedIn = definedIn
    }

    public var isEmpty: Bool { value == .object([:]) || value.isNull }
}
