import Collections
import Foundation
import OrderedCollections

/// Large fleets for benchmarks: a directory source (`inventory.json` in the evaluated shape with
/// wrapped settings, `systems.json`, zerotier IPs under `vars/shared/`) of N machines, generated
/// deterministically from a seed.
public struct SyntheticFleet {
    public var machineCount: Int
    public var seed: UInt64
    /// Write `vars/shared/zerotier-ip-<m>-<instance>/ip/value` for every peer (one file each).
    public var withZerotierVars: Bool

    public init(machines: Int, seed: UInt64 = 1, withZerotierVars: Bool = true) {
        self.machineCount = machines
        self.seed = seed
        self.withZerotierVars = withZerotierVars
    }

    public static func machineName(_ i: Int) -> String { "host-" + String(format: "%05d", i) }

    /// The serialization document and each machine's system.
    public func document() -> (inventory: JSONValue, systems: OrderedDictionary<String, String>) {
        var rng = SplitMix64(seed: seed)
        let regions = ["eu", "us", "ap"], kinds = ["web", "db", "cache", "build", "gpu", "edge"], envs = ["prod", "staging", "dev"]
        var machines = OrderedDictionary<String, JSONValue>()
        var systems = OrderedDictionary<String, String>()
        var tagMembers = OrderedDictionary<String, [String]>()
        var users: [String] = []
        var internet: [(String, String)] = []
        for i in 1...max(machineCount, 1) where i <= machineCount {
            let name = Self.machineName(i)
            let darwin = rng.next() % 5 == 0
            let cls = darwin ? "darwin" : "nixos"
            var tags = [regions[Int(rng.next() % 3)], kinds[Int(rng.next() % 6)], envs[Int(rng.next() % 3)]]
            if !darwin { tags.append("peer") }
            if rng.next() % 10 == 0 { tags.append("laptop") }
            let evaluated = tags + ["all", cls]
            for t in evaluated { tagMembers[t, default: []].append(name) }
            if rng.next() % 10 == 0 { users.append(name) }
            if !darwin, rng.next() % 20 == 0 { internet.append((name, "198.18.\(i / 256 % 256).\(i % 256)")) }
            let target: JSONValue = darwin || rng.next() % 2 == 0 ? .null : .string("root@\(name).fleet")
            machines[name] = .object([
                "deploy": .object(["buildHost": .null, "forwardAgent": .null, "targetHost": target]),
                "description": .string("synthetic \(tags[1]) node in \(tags[0])"),
                "icon": .null,
                "installedAt": darwin ? .null : JSONValue(1_700_000_000 + i),
                "machineClass": .string(cls),
                "name": .string(name),
                "tags": .array(evaluated.map { .string($0) }),
            ])
            systems[name] = darwin ? "aarch64-darwin" : (rng.next() % 4 == 0 ? "aarch64-linux" : "x86_64-linux")
        }
        func wrap(_ loc: String, _ v: JSONValue) -> JSONValue {
            .object(["imports": .array([.object(["_file": .string("/nix/store/synthetic-source/clan.nix, via option \(loc)"), "imports": .array([v])])])])
        }
        func role(_ inst: String, _ r: String, machines ms: [(String, JSONValue)] = [], tags ts: [(String, JSONValue)] = [], settings: JSONValue = .object([:])) -> (String, JSONValue) {
            let loc = "inventory.instances.\(inst).roles.\(r)"
            var mo = OrderedDictionary<String, JSONValue>()
            for (m, s) in ms { mo[m] = .object(["settings": wrap("\(loc).machines.\(m).settings", s)]) }
            var to = OrderedDictionary<String, JSONValue>()
            for (t, s) in ts { to[t] = .object(["settings": wrap("\(loc).tags.\(t).settings", s)]) }
            return (r, .object(["machines": .object(mo), "settings": wrap("\(loc).settings", settings), "tags": .object(to)]))
        }
        func instance(_ name: String, _ module: String, _ input: JSONValue, _ roles: [(String, JSONValue)]) -> (String, JSONValue) {
            (name, .object(["module": .object(["input": input, "name": .string(module)]), "roles": .object(OrderedDictionary(uniqueKeysWithValues: roles))]))
        }
        let first = machineCount > 0 ? Self.machineName(1) : "host-00001"
        var instances: [(String, JSONValue)] = [
            instance("emergency-access", "emergency-access", .string("clan-core"), [role("emergency-access", "default", tags: [("all", .object([:]))])]),
            instance("internet", "internet", .string("clan-core"), [role("internet", "default", machines: internet.map { ($0.0, .object(["host": .string($0.1)])) })]),
            instance("sshd", "sshd", .string("clan-core"), [
                role("sshd", "client", tags: [("nixos", .object([:]))]),
                role("sshd", "server", tags: [("nixos", .object([:])), ("peer", .object(["hardened": .bool(true)]))],
                     settings: .object(["certificate": .object(["searchDomains": .array([.string("fleet")])])])),
            ]),
            instance("user-ops", "users", .string("clan-core"), [role("user-ops", "default", machines: users.map { ($0, .object([:])) },
                                                                     settings: .object(["user": .string("ops"), "share": .bool(true), "prompt": .bool(false)]))]),
            instance("zerotier", "zerotier", .string("clan-core"), [
                role("zerotier", "controller", machines: [(first, .object([:]))]),
                role("zerotier", "peer", tags: [("peer", .object([:]))]),
            ]),
        ]
        instances.sort { $0.0 < $1.0 }
        tagMembers.sort { $0.key < $1.key }
        let inventory: JSONValue = .object([
            "instances": .object(OrderedDictionary(uniqueKeysWithValues: instances)),
            "machines": .object(machines),
            "meta": .object(["description": .string("synthetic fleet of \(machineCount) machines"), "domain": .string("fleet"),
                             "icon": .null, "name": .string("synthetic"), "tld": .null]),
            "tags": .object(tagMembers.mapValues { .array($0.map { .string($0) }) }),
        ])
        return (inventory, systems)
    }

    /// Writes the directory source into `directory` (created if needed).
    public func write(to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (inventory, systems) = document()
        try Data(JSONWriter.python2.string(inventory).utf8).write(to: URL(fileURLWithPath: directory + "/inventory.json"))
        try Data(JSONWriter.python2.string(.object(systems.mapValues { .string($0) })).utf8)
            .write(to: URL(fileURLWithPath: directory + "/systems.json"))
        guard withZerotierVars else { return }
        // Network id: controller node id (10 hex) + 6 hex; IPs in the rfc4193 scheme (clan-formats.md §4).
        var rng = SplitMix64(seed: seed ^ 0x5A5A)
        let nwid = String(format: "%010llx", rng.next() & 0xFF_FFFF_FFFF) + String(format: "%06llx", 1 + rng.next() % 0xFFFFFE)
        try writeValue(directory + "/vars/shared/zerotier-network-zerotier/network-id/value", nwid)
        let n = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(nwid, radix: 16)! >> (56 - 8 * UInt64($0))) }
        for (name, m) in inventory["machines"]?.objectValue ?? [:] where m["machineClass"]?.stringValue == "nixos" {
            let node = rng.next() & 0xFF_FFFF_FFFF
            let bytes: [UInt8] = [0xFD] + n + [0x99, 0x93] + (0..<5).map { UInt8(truncatingIfNeeded: node >> (32 - 8 * UInt64($0))) }
            try writeValue(directory + "/vars/shared/zerotier-ip-\(name)-zerotier/ip/value", Self.ipv6(bytes))
        }
    }

    private func writeValue(_ path: String, _ value: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(value.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Groups of 4 hex digits without leading zeros (no `::` compression, which is still a valid form).
    static func ipv6(_ b: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// SplitMix64: deterministic random numbers, so a seed always gives the same synthetic fleet (and
/// the property tests their same inputs).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
