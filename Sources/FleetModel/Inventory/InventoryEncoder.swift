import Collections

/// Writes an `Inventory` as the JSON `InventoryDecoder` reads back to an equal value (compact, nulls
/// left out, settings in the evaluated wrapper so `definedIn` survives). The resolved-fleet cache
/// stores this: a fraction of the size of a pretty-printed evaluated `inventory.json`.
enum InventoryEncoder {
    static func encode(_ inv: Inventory, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + inv.machines.count * 160 + 4096)
        out.append(UInt8(ascii: "{"))
        key("meta", &out)
        var meta: [(String, JSONValue)] = [("name", .string(inv.meta.name)), ("domain", .string(inv.meta.domain))]
        if let d = inv.meta.description { meta.append(("description", .string(d))) }
        if let i = inv.meta.icon { meta.append(("icon", .string(i))) }
        value(.object(.init(uniqueKeysWithValues: meta)), &out)
        out.append(UInt8(ascii: ","))
        key("machines", &out)
        out.append(UInt8(ascii: "{"))
        for (n, (name, m)) in inv.machines.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            key(name, &out)
            machine(m, &out)
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: ","))
        key("instances", &out)
        value(.object(inv.instances.mapValues(instance)), &out)
        out.append(UInt8(ascii: ","))
        key("tags", &out)
        value(.object(inv.tags.mapValues { .array($0.map { .string($0) }) }), &out)
        for (k, v) in inv.raw.objectValue ?? [:] {
            out.append(UInt8(ascii: ","))
            key(k, &out)
            value(v, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func machine(_ m: Machine, _ out: inout [UInt8]) {
        out.append(contentsOf: #"{"name":"#.utf8)
        string(m.name, &out)
        out.append(contentsOf: #","machineClass":"#.utf8)
        string(m.machineClass.rawValue, &out)
        if let d = m.description { out.append(contentsOf: #","description":"#.utf8); string(d, &out) }
        if let i = m.icon { out.append(contentsOf: #","icon":"#.utf8); string(i, &out) }
        if let t = m.installedAt { out.append(contentsOf: #","installedAt":"#.utf8); out.append(contentsOf: String(t).utf8) }
        out.append(contentsOf: #","tags":["#.utf8)
        for (n, t) in m.tags.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            string(t, &out)
        }
        out.append(contentsOf: #"],"deploy":{"#.utf8)
        var first = true
        func field(_ k: String, _ write: (inout [UInt8]) -> Void) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            key(k, &out)
            write(&out)
        }
        if let h = m.deploy.targetHost { field("targetHost") { string(h, &$0) } }
        if let h = m.deploy.buildHost { field("buildHost") { string(h, &$0) } }
        if let f = m.deploy.forwardAgent { field("forwardAgent") { $0.append(contentsOf: (f ? "true" : "false").utf8) } }
        out.append(UInt8(ascii: "}"))
        for (k, v) in m.extra {
            out.append(UInt8(ascii: ","))
            key(k, &out)
            value(v, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func instance(_ i: ServiceInstance) -> JSONValue {
        var module: OrderedDictionary<String, JSONValue> = ["name": .string(i.module.name)]
        if let input = i.module.input { module["input"] = .string(input) }
        var o: OrderedDictionary<String, JSONValue> = ["module": .object(module), "roles": .object(i.roles.mapValues(role))]
        for (k, v) in i.extra { o[k] = v }
        return .object(o)
    }

    private static func role(_ r: Role) -> JSONValue {
        func member(_ s: Settings) -> JSONValue { .object(["settings": wrapped(s)]) }
        var o: OrderedDictionary<String, JSONValue> = [
            "machines": .object(r.machines.mapValues(member)), "tags": .object(r.tags.mapValues(member)), "settings": wrapped(r.settings),
        ]
        for (k, v) in r.extra { o[k] = v }
        return .object(o)
    }

    /// Always wrapped: plain settings that happen to be `{"imports": …}` must not be unwrapped on reading.
    private static func wrapped(_ s: Settings) -> JSONValue {
        var def: OrderedDictionary<String, JSONValue> = [:]
        if let f = s.definedIn { def["_file"] = .string(f) }
        def["imports"] = .array([s.value.isNull ? .object([:]) : s.value])
        return .object(["imports": .array([.object(def)])])
    }

    private static func key(_ k: String, _ out: inout [UInt8]) {
        string(k, &out)
        out.append(UInt8(ascii: ":"))
    }

    private static func string(_ s: String, _ out: inout [UInt8]) {
        // Plain ASCII without quotes, backslashes or control characters goes out as it is.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            value(.string(s), &out)
        }
    }

    private static func value(_ v: JSONValue, _ out: inout [UInt8]) {
        out.append(contentsOf: JSONWriter.compact.bytes(v))
    }
}
