import Collections
import OrderedCollections

/// A machine of the clan inventory (`inventory.machines.<name>`, clan-formats.md §1.2).
public struct Machine: Equatable, Sendable {
    public enum Class: String, Sendable, CaseIterable { case nixos, darwin }

    public var name: String
    public var machineClass: Class
    /// Nix system double (`x86_64-linux`); not part of the inventory — evaluated from the machine
    /// config in a flake, read from `systems.json` in a directory source. Nil when unknown.
    public var system: String?
    /// Tags as evaluated, in order; includes the implicit `all` and `nixos`/`darwin`.
    public var tags: [String]
    public var description: String?
    public var icon: String?
    public var installedAt: Int?
    public var deploy: Deploy
    /// Fields of `machines.<name>` we do not model, kept verbatim.
    public var extra: OrderedDictionary<String, JSONValue> = OrderedDictionary()

    public struct Deploy: Equatable, Sendable {
        public var targetHost: String?
        public var buildHost: String?
        public var forwardAgent: Bool?
        public init(targetHost: String? = nil, buildHost: String? = nil, forwardAgent: Bool? = nil) {
            self.targetHost = targetHost
            self.buildHost = buildHost
            self.forwardAgent = forwardAgent
        }
    }

    public init(name: String, machineClass: Class = .nixos, system: String? = nil, tags: [String] = [],
                description: String? = nil, icon: String? = nil, installedAt: Int? = nil, deploy: Deploy = Deploy()) {
        self.name = name
        self.machineClass = machineClass
        self.system = system
        self.tags = tags
        self.description = description
        self.icon = icon
        self.installedAt = installedAt
        self.deploy = deploy
    }

    /// Tags the user set, without the computed ones clan adds to every machine (`all`, class tag).
    public var userTags: [String] {
        tags.filter { $0 != "all" && $0 != machineClass.rawValue }
    }
}
