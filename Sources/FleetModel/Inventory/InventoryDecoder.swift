import Collections

/// Reads the serialization shape into `Inventory`, with errors that name file and JSON path.
/// Accepts both the evaluated form (every field present, settings wrapped) and the hand-written
/// `inventory.json` form (everything optional but `meta.name`, settings plain, role tags as a list).
///
/// Reads a `JSONDocument` (the scanner's tape) directly: machines and tags — what grows with the
/// fleet — are decoded from byte ranges without a `JSONValue` tree, so a 10k-machine file is never
/// held twice; instances (a handful, with free-form settings) are materialised and decoded as
/// `JSONValue`. Duplicate keys behave as in `JSONParser`: the last one wins, at the first one's place.
public struct InventoryDecoder {
    public let file: String

    public init(file: String) { self.file = file }

    public func decode(_ text: String, systems: [String: String] = [:]) throws -> Inventory {
        try decode(bytes: Array(text.utf8), systems: systems)
    }

    public func decode(bytes: [UInt8], systems: [String: String] = [:]) throws -> Inventory {
        let doc: JSONDocument
        do {
            doc = try JSONDocument(bytes)
        } catch let e as JSONSyntaxError {
            throw InventoryError(file: file, path: "", message: "invalid JSON at \(e)")
        }
        var reader = InventoryTapeReader(doc: doc, file: file)
        return try reader.inventory(at: doc.root, systems: systems)
    }

    /// For callers that already hold a tree (tests, the fuzz target): written as JSON and read back,
    /// so there is one decoding path (the writer round trip is exact: JSONWriterTests, fuzz `json`).
    public func decode(_ root: JSONValue, systems: [String: String] = [:]) throws -> Inventory {
        try decode(bytes: Array(JSONWriter.compact.string(root).utf8), systems: systems)
    }
}

/// The decoding itself, over tape indices. Repeated values (tag lists, descriptions) are found again
/// by their bytes (`ByteSpanTable`), so 10k machines share their storage and a repeated list is not
/// decoded again.
struct InventoryTapeReader {
    let doc: JSONDocument
    let file: String
    private var interner = StringInterner()
    /// Raw bytes of a machine's `tags` array (+ its class and static tags) → its evaluated tag list.
    private var tagLists = ByteSpanTable<[String]>()
    /// Raw bytes of a description → the shared `String`.
    private var descriptions = ByteSpanTable<String>()

    init(doc: JSONDocument, file: String) {
        self.doc = doc
        self.file = file
    }

    /// Machine → the tags of `tags.<t>` that list it: a bit per tag (document order) when there are
    /// at most 63 tags (bit 0 of the salt is the class) — the common case, with no list per machine — else the names.
    private enum StaticTags {
        case bits(names: [String], of: [String: UInt64])
        case lists([String: [String]])

        init(_ tags: OrderedDictionary<String, [String]>) {
            if tags.count <= 63 {
                var of: [String: UInt64] = [:]
                of.reserveCapacity(tags.values.map(\.count).max() ?? 0)
                for (k, members) in tags.values.enumerated() { for m in members { of[m, default: 0] |= 1 << UInt64(k) } }
                self = .bits(names: Array(tags.keys), of: of)
            } else {
                var of: [String: [String]] = [:]
                for (tag, members) in tags { for m in members { of[m, default: []].append(tag) } }
                self = .lists(of)
            }
        }

        /// A key that is equal for machines listed by the same tags; nil when there is none.
        func key(_ machine: String) -> UInt64? {
            if case .bits(_, let of) = self { return of[machine] ?? 0 }
            return nil
        }

        /// The tags listing `machine` (`key`: its key, when already looked up).
        func tags(_ machine: String, key: UInt64?) -> [String] {
            switch self {
            case .bits(let names, let of):
                guard let bits = key ?? of[machine], bits != 0 else { return [] }
                return (0..<names.count).filter { bits & (1 << UInt64($0)) != 0 }.map { names[$0] }
            case .lists(let of):
                return of[machine] ?? []
            }
        }
    }

    /// The inventory object at tape index `root` (the document root, or a field of a cache file).
    mutating func inventory(at root: Int, systems: [String: String]) throws -> Inventory {
        let top = try doc.pairs(object(root, at: ""))
        let metaObj = try top["meta"].flatMap { doc.kind($0) == .null ? nil : try doc.pairs(object($0, at: "meta")) } ?? [:]
        let meta = Inventory.Meta(
            name: try optionalString(metaObj["name"], at: "meta.name") ?? "",
            domain: try optionalString(metaObj["domain"], at: "meta.domain")
                ?? optionalString(metaObj["tld"], at: "meta.tld") ?? "clan",
            description: try optionalString(metaObj["description"], at: "meta.description"),
            icon: try optionalString(metaObj["icon"], at: "meta.icon"))

        var tags = OrderedDictionary<String, [String]>()
        if let t = top["tags"], doc.kind(t) != .null {
            for (tag, members) in try doc.pairs(object(t, at: "tags")) {
                tags[tag] = try stringList(members, at: InventoryPath.join("tags", tag))
            }
        }

        // machine → tags that list it, built once (a 10k-machine fleet has large tag lists).
        let staticTags = StaticTags(tags)
        var decoded: [(key: String, value: Machine)] = []
        if let m = top["machines"], doc.kind(m) != .null {
            let obj = try object(m, at: "machines")
            // Names in document order. Usually sorted and unique (nix eval --json sorts keys); a
            // repeated name takes the dictionary, where the last one wins at the first one's place.
            var entries: [(key: String, value: Int)] = []
            entries.reserveCapacity(doc.count(obj))
            doc.forEachPair(obj) { k, v in entries.append((doc.string(k), v)) }
            var sorted = true
            for i in entries.indices.dropFirst() where !(entries[i - 1].key < entries[i].key) { sorted = false; break }
            if !sorted, Set(entries.map(\.key)).count != entries.count {
                entries = doc.pairs(obj).map { ($0.key, $0.value) }
            }
            decoded.reserveCapacity(entries.count)
            for (name, value) in entries {
                try validName(name, .machine, at: "machines")
                decoded.append((name, try machine(name: name, value, at: InventoryPath.join("machines", name),
                                                  system: systems[name], staticTags: staticTags)))
            }
            // Sorted by name (nix eval --json sorts keys).
            if !sorted { decoded.sort { $0.key < $1.key } }
        }
        let machines = OrderedDictionary(uncheckedUniqueKeysWithValues: decoded)

        var instances = OrderedDictionary<String, ServiceInstance>()
        if let i = top["instances"], doc.kind(i) != .null {
            for (name, value) in try doc.pairs(object(i, at: "instances")) {
                try validName(name, .instance, at: "instances")
                instances[name] = try InventoryDecoder.instance(name: name, doc.materialize(value), file: file,
                                                                at: InventoryPath.join("instances", name))
            }
        }
        // Keep only what is not modelled: holding the whole document would double the memory of a
        // 10k-machine fleet and make every state comparison walk it (bench: peak RSS).
        var unknown = OrderedDictionary<String, JSONValue>()
        for (k, v) in top where !["meta", "machines", "instances", "tags"].contains(k) { unknown[k] = doc.materialize(v) }
        return Inventory(meta: meta, machines: machines, instances: instances, tags: tags, raw: .object(unknown))
    }

    /// clan's own name rules (NameValidation), checked on load so every command refuses a hostile
    /// name with one clear error before it reaches a path, an argv or the screen.
    private func validName(_ name: String, _ kind: NameKind, at path: String) throws {
        do { _ = try NameValidation.validate(name, as: kind) } catch let e as NameError {
            throw InventoryError(file: file, path: path, message: "\(e)")
        }
    }

    // MARK: machines

    /// `path` is built only for an error message: 10k machines × 8 fields of string interpolation
    /// would otherwise cost more than reading them. A tag list is shared by its bytes only where
    /// `staticTags` has a key for the machine.
    private mutating func machine(name: String, _ value: Int, at path: @autoclosure () -> String, system: String?,
                                  staticTags: StaticTags) throws -> Machine {
        // One pass over the machine's keys; a repeated key: the last one wins, as in JSONParser.
        var nameV, classV, descriptionV, iconV, installedV, tagsV, deployV: Int?
        var extra = OrderedDictionary<String, JSONValue>()
        if doc.kind(value) != .null {
            doc.forEachPair(try object(value, at: path())) { k, v in
                if doc.keyEquals(k, "name") { nameV = v }
                else if doc.keyEquals(k, "machineClass") { classV = v }
                else if doc.keyEquals(k, "description") { descriptionV = v }
                else if doc.keyEquals(k, "icon") { iconV = v }
                else if doc.keyEquals(k, "installedAt") { installedV = v }
                else if doc.keyEquals(k, "tags") { tagsV = v }
                else if doc.keyEquals(k, "deploy") { deployV = v }
                else { extra[doc.string(k)] = doc.materialize(v) }  // not modelled: kept verbatim
            }
        }
        // `"name"` usually repeats the key: then the key's string is taken as it is.
        let nameField: String?
        if let v = nameV, doc.kind(v) == .string, doc.isPlainString(v), name.utf8.elementsEqual(doc.bytes[doc.span(v)]) {
            nameField = name
        } else {
            nameField = try optionalString(nameV, at: "\(path()).name")
        }
        var m = Machine(name: nameField ?? name)
        if let c = classV, doc.kind(c) == .string, doc.keyEquals(c, "nixos") {
            m.machineClass = .nixos
        } else if let c = classV, doc.kind(c) == .string, doc.keyEquals(c, "darwin") {
            m.machineClass = .darwin
        } else if let c = try optionalString(classV, at: "\(path()).machineClass") {
            guard let cls = Machine.Class(rawValue: c) else {
                throw InventoryError(file: file, path: "\(path()).machineClass",
                                     message: "expected \"nixos\" or \"darwin\", found \"\(c)\"")
            }
            m.machineClass = cls
        }
        m.system = system
        if let d = descriptionV, doc.kind(d) == .string {
            let r = doc.span(d)
            m.description = doc.withBase { base in descriptions.value(base, start: r.lowerBound, count: r.count) { doc.string(d) } }
        } else {
            m.description = try optionalString(descriptionV, at: "\(path()).description")
        }
        m.icon = try optionalString(iconV, at: "\(path()).icon")
        if let ia = installedV, doc.kind(ia) != .null {
            guard let n = doc.intValue(ia) else {
                throw InventoryError(file: file, path: "\(path()).installedAt", message: "expected integer, found \(doc.typeName(ia))")
            }
            m.installedAt = n
        }
        let cls = m.machineClass, document = doc, fileName = file, staticKey = staticTags.key(name)
        // Moved out while the closure below holds it (a copy left in `self` would be copied on write).
        var interner = self.interner
        self.interner = StringInterner()
        defer { self.interner = interner }
        func evaluatedTags() throws -> [String] {
            var tags: [String] = []
            if let t = tagsV, document.kind(t) != .null {
                for s in try Self.stringList(document, fileName, t, at: "\(path()).tags") where !tags.contains(s) { tags.append(s) }  // clan applies `unique`
            }
            // `inventory.tags.<t> = [machines]` attaches tags from the other side; the evaluated list holds them.
            for s in staticTags.tags(name, key: staticKey) where !tags.contains(s) { tags.append(s) }
            // Computed tags (modules/clan/computed-tags.nix): every machine has `all` and its class tag.
            for implicit in ["all", cls.rawValue] where !tags.contains(implicit) { tags.append(implicit) }
            return interner.intern(tags)
        }
        // Equal bytes of the `tags` array (absent, null and [] alike), equal class and equal static
        // tags: equal lists, decoded once.
        let span: Range<Int>?
        if let t = tagsV, doc.kind(t) != .null { span = doc.stringArraySpan(t) } else { span = 0..<0 }
        if let span, let staticKey {
            let salt = staticKey &* 2 &+ (cls == .darwin ? 1 : 0)
            m.tags = try doc.withBase { base in
                try tagLists.value(base, start: span.lowerBound, count: span.count, salt: salt, make: evaluatedTags)
            }
        } else {
            m.tags = try evaluatedTags()
        }
        if let d = deployV, doc.kind(d) != .null {
            let dep = try object(d, at: "\(path()).deploy")
            m.deploy.targetHost = try optionalString(doc.lastValue(dep, forKey: "targetHost"), at: "\(path()).deploy.targetHost")
            m.deploy.buildHost = try optionalString(doc.lastValue(dep, forKey: "buildHost"), at: "\(path()).deploy.buildHost")
            if let fa = doc.lastValue(dep, forKey: "forwardAgent"), doc.kind(fa) != .null {
                guard let b = doc.boolValue(fa) else {
                    throw InventoryError(file: file, path: "\(path()).deploy.forwardAgent", message: "expected boolean, found \(doc.typeName(fa))")
                }
                m.deploy.forwardAgent = b
            }
        }
        m.extra = extra
        return m
    }

    // MARK: primitives

    private func object(_ i: Int, at path: @autoclosure () -> String) throws -> Int {
        guard doc.kind(i) == .object else {
            throw InventoryError(file: file, path: path(), message: "expected object, found \(doc.typeName(i))")
        }
        return i
    }

    private func optionalString(_ i: Int?, at path: @autoclosure () -> String) throws -> String? {
        guard let i, doc.kind(i) != .null else { return nil }
        guard let s = doc.stringValue(i) else {
            throw InventoryError(file: file, path: path(), message: "expected string, found \(doc.typeName(i))")
        }
        return s
    }

    private func stringList(_ i: Int, at path: @autoclosure () -> String) throws -> [String] {
        try Self.stringList(doc, file, i, at: path())
    }

    private static func stringList(_ doc: JSONDocument, _ file: String, _ i: Int, at path: @autoclosure () -> String) throws -> [String] {
        guard doc.kind(i) == .array else {
            throw InventoryError(file: file, path: path(), message: "expected array, found \(doc.typeName(i))")
        }
        var out: [String] = []
        out.reserveCapacity(doc.count(i))
        var item = i + 1
        for n in 0..<doc.count(i) {
            guard let s = doc.stringValue(item) else {
                throw InventoryError(file: file, path: "\(path())[\(n)]", message: "expected string, found \(doc.typeName(item))")
            }
            out.append(s)
            item = doc.next(item)
        }
        return out
    }
}

extension InventoryDecoder {
    // MARK: instances (a handful per fleet; decoded from their materialised `JSONValue`)

    static func instance(name: String, _ value: JSONValue, file: String, at path: String) throws -> ServiceInstance {
        let d = ValueReader(file: file)
        let o = try d.object(value, at: path)
        var module = ServiceInstance.Module(name: name)
        if let mv = o["module"], !mv.isNull {
            let mo = try d.object(mv, at: "\(path).module")
            module.name = try d.optionalString(mo["name"], at: "\(path).module.name") ?? name
            module.input = try d.optionalString(mo["input"], at: "\(path).module.input")
        }
        var roles = OrderedDictionary<String, Role>()
        if let rv = o["roles"], !rv.isNull {
            for (roleName, roleValue) in try d.object(rv, at: "\(path).roles") {
                roles[roleName] = try d.role(name: roleName, roleValue, at: InventoryPath.join("\(path).roles", roleName))
            }
        }
        return ServiceInstance(name: name, module: module, roles: roles,
                               extra: o.filter { $0.key != "module" && $0.key != "roles" })
    }

    private struct ValueReader {
        let file: String

        func role(name: String, _ value: JSONValue, at path: String) throws -> Role {
            let o = value.isNull ? [:] : try object(value, at: path)
            var role = Role(name: name)
            if let mv = o["machines"], !mv.isNull {
                for (m, entry) in try object(mv, at: "\(path).machines") {
                    role.machines[m] = try member(entry, at: InventoryPath.join("\(path).machines", m))
                }
            }
            if let tv = o["tags"], !tv.isNull {
                if case .array = tv {
                    // Input form `tags = ["peer"]`, which clan coerces to `{ peer = {}; }`.
                    for t in try stringList(tv, at: "\(path).tags") { role.tags[t] = Settings() }
                } else {
                    for (t, entry) in try object(tv, at: "\(path).tags") {
                        role.tags[t] = try member(entry, at: InventoryPath.join("\(path).tags", t))
                    }
                }
            }
            if let s = o["settings"] { role.settings = try SettingsWrapper.unwrap(s, file: file, at: "\(path).settings") }
            role.extra = o.filter { !["machines", "tags", "settings"].contains($0.key) }
            return role
        }

        /// `{ settings = …; }` of a role member (machine or tag).
        func member(_ value: JSONValue, at path: String) throws -> Settings {
            if value.isNull { return Settings() }
            let o = try object(value, at: path)
            guard let s = o["settings"] else { return Settings() }
            return try SettingsWrapper.unwrap(s, file: file, at: "\(path).settings")
        }

        func object(_ v: JSONValue, at path: String) throws -> OrderedDictionary<String, JSONValue> {
            guard let o = v.objectValue else {
                throw InventoryError(file: file, path: path, message: "expected object, found \(v.typeName)")
            }
            return o
        }

        func optionalString(_ v: JSONValue?, at path: String) throws -> String? {
            guard let v, !v.isNull else { return nil }
            guard let s = v.stringValue else {
                throw InventoryError(file: file, path: path, message: "expected string, found \(v.typeName)")
            }
            return s
        }

        func stringList(_ v: JSONValue, at path: String) throws -> [String] {
            guard let arr = v.arrayValue else {
                throw InventoryError(file: file, path: path, message: "expected array, found \(v.typeName)")
            }
            return try arr.enumerated().map { i, item in
                guard let s = item.stringValue else {
                    throw InventoryError(file: file, path: "\(path)[\(i)]", message: "expected string, found \(item.typeName)")
                }
                return s
            }
        }
    }
}

/// JSON paths as error messages show them: `instances.zerotier.roles.peer`, with keys that are not
/// plain identifiers quoted (`machines."a.b"`).
public enum InventoryPath {
    public static func join(_ base: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
        let k = plain ? key : "\"" + key.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        return base.isEmpty ? k : base + "." + k
    }
}
