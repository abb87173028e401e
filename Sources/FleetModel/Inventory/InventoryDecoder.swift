import Collections

/// Reads the serialization shape into `Inventory`, with errors that name file and JSON path.
/// Accepts both the evaluated form (every field present, settings wrapped) and the hand-written
/// `inventory.json` form (everything optional but `meta.name`, settings plain, role tags as a list).
public struct InventoryDecoder {
    public let file: String

    public init(file: String) { self.file = file }

    public func decode(_ text: String, systems: [String: String] = [:]) throws -> Inventory {
        try decode(bytes: Array(text.utf8), systems: systems)
    }

    public func decode(bytes: [UInt8], systems: [String: String] = [:]) throws -> Inventory {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch let e as JSONSyntaxError {
            throw InventoryError(file: file, path: "", message: "invalid JSON at \(e)")
        }
        return try decode(root, systems: systems)
    }

    public func decode(_ root: JSONValue, systems: [String: String] = [:]) throws -> Inventory {
        let top = try object(root, at: "")
        let metaObj = try top["meta"].flatMap { $0.isNull ? nil : try object($0, at: "meta") } ?? [:]
        let meta = Inventory.Meta(
            name: try optionalString(metaObj["name"], at: "meta.name") ?? "",
            domain: try optionalString(metaObj["domain"], at: "meta.domain")
                ?? optionalString(metaObj["tld"], at: "meta.tld") ?? "clan",
            description: try optionalString(metaObj["description"], at: "meta.description"),
            icon: try optionalString(metaObj["icon"], at: "meta.icon"))

        var tags = OrderedDictionary<String, [String]>()
        if let t = top["tags"], !t.isNull {
            for (tag, members) in try object(t, at: "tags") {
                tags[tag] = try stringList(members, at: InventoryPath.join("tags", tag))
            }
        }

        // machine → tags that list it, built once (a 10k-machine fleet has large tag lists).
        var staticTagsOf: [String: [String]] = [:]
        for (tag, members) in tags { for m in members { staticTagsOf[m, default: []].append(tag) } }
        var machines = OrderedDictionary<String, Machine>()
        if let m = top["machines"], !m.isNull {
            for (name, value) in try object(m, at: "machines") {
                try validName(name, .machine, at: "machines")
                let staticTags = staticTagsOf[name] ?? []
                machines[name] = try machine(name: name, value, at: InventoryPath.join("machines", name),
                                             system: systems[name], staticTags: staticTags)
            }
        }
        machines.sort { $0.key < $1.key }

        var instances = OrderedDictionary<String, ServiceInstance>()
        if let i = top["instances"], !i.isNull {
            for (name, value) in try object(i, at: "instances") {
                try validName(name, .instance, at: "instances")
                instances[name] = try instance(name: name, value, at: InventoryPath.join("instances", name))
            }
        }
        // Keep only what is not modelled: holding the whole document would double the memory of a
        // 10k-machine fleet and make every state comparison walk it (bench: peak RSS).
        let modelled: Set<String> = ["meta", "machines", "instances", "tags"]
        let unknown = top.filter { !modelled.contains($0.key) }
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

    private static let machineKeys: Set<String> = ["name", "machineClass", "description", "icon", "installedAt", "tags", "deploy"]

    private func machine(name: String, _ value: JSONValue, at path: String, system: String?, staticTags: [String]) throws -> Machine {
        let o = value.isNull ? [:] : try object(value, at: path)
        var m = Machine(name: try optionalString(o["name"], at: "\(path).name") ?? name)
        if let c = try optionalString(o["machineClass"], at: "\(path).machineClass") {
            guard let cls = Machine.Class(rawValue: c) else {
                throw InventoryError(file: file, path: "\(path).machineClass",
                                     message: "expected \"nixos\" or \"darwin\", found \"\(c)\"")
            }
            m.machineClass = cls
        }
        m.system = system
        m.description = try optionalString(o["description"], at: "\(path).description")
        m.icon = try optionalString(o["icon"], at: "\(path).icon")
        if let ia = o["installedAt"], !ia.isNull {
            guard let n = ia.intValue else {
                throw InventoryError(file: file, path: "\(path).installedAt", message: "expected integer, found \(ia.typeName)")
            }
            m.installedAt = n
        }
        var tags: [String] = []
        if let t = o["tags"], !t.isNull {
            for s in try stringList(t, at: "\(path).tags") where !tags.contains(s) { tags.append(s) }  // clan applies `unique`
        }
        // `inventory.tags.<t> = [machines]` attaches tags from the other side; the evaluated list holds them.
        for s in staticTags where !tags.contains(s) { tags.append(s) }
        // Computed tags (modules/clan/computed-tags.nix): every machine has `all` and its class tag.
        for implicit in ["all", m.machineClass.rawValue] where !tags.contains(implicit) { tags.append(implicit) }
        m.tags = tags
        if let d = o["deploy"], !d.isNull {
            let dep = try object(d, at: "\(path).deploy")
            m.deploy.targetHost = try optionalString(dep["targetHost"], at: "\(path).deploy.targetHost")
            m.deploy.buildHost = try optionalString(dep["buildHost"], at: "\(path).deploy.buildHost")
            if let fa = dep["forwardAgent"], !fa.isNull {
                guard let b = fa.boolValue else {
                    throw InventoryError(file: file, path: "\(path).deploy.forwardAgent", message: "expected boolean, found \(fa.typeName)")
                }
                m.deploy.forwardAgent = b
            }
        }
        m.extra = o.filter { !Self.machineKeys.contains($0.key) }
        return m
    }

    // MARK: instances

    private func instance(name: String, _ value: JSONValue, at path: String) throws -> ServiceInstance {
        let o = try object(value, at: path)
        var module = ServiceInstance.Module(name: name)
        if let mv = o["module"], !mv.isNull {
            let mo = try object(mv, at: "\(path).module")
            module.name = try optionalString(mo["name"], at: "\(path).module.name") ?? name
            module.input = try optionalString(mo["input"], at: "\(path).module.input")
        }
        var roles = OrderedDictionary<String, Role>()
        if let rv = o["roles"], !rv.isNull {
            for (roleName, roleValue) in try object(rv, at: "\(path).roles") {
                roles[roleName] = try role(name: roleName, roleValue, at: InventoryPath.join("\(path).roles", roleName))
            }
        }
        return ServiceInstance(name: name, module: module, roles: roles,
                               extra: o.filter { $0.key != "module" && $0.key != "roles" })
    }

    private func role(name: String, _ value: JSONValue, at path: String) throws -> Role {
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
    private func member(_ value: JSONValue, at path: String) throws -> Settings {
        if value.isNull { return Settings() }
        let o = try object(value, at: path)
        guard let s = o["settings"] else { return Settings() }
        return try SettingsWrapper.unwrap(s, file: file, at: "\(path).settings")
    }

    // MARK: primitives

    private func object(_ v: JSONValue, at path: String) throws -> OrderedDictionary<String, JSONValue> {
        guard let o = v.objectValue else {
            throw InventoryError(file: file, path: path, message: "expected object, found \(v.typeName)")
        }
        return o
    }

    private func optionalString(_ v: JSONValue?, at path: String) throws -> String? {
        guard let v, !v.isNull else { return nil }
        guard let s = v.stringValue else {
            throw InventoryError(file: file, path: path, message: "expected string, found \(v.typeName)")
        }
        return s
    }

    private func stringList(_ v: JSONValue, at path: String) throws -> [String] {
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
