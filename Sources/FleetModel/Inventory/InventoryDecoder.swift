import Collections

/// Reads the serialization shape into `Inventory`, with errors that name file and JSON path.
/// Accepts both the evaluated form (every field present) and the hand-written `inventory.json`
/// form (everything optional but `meta.name`).
public struct InventoryDecoder {
    public let file: String

    public init(file: String) { self.file = file }

    public func decode(_ text: String, systems: [String: String] = [:]) throws -> Inventory {
        let root: JSONValue
        do {
            root = try JSONParser.parse(text)
        } catch let e as JSONSyntaxError {
            throw InventoryError(file: file, path: "", message: "invalid JSON at \(e)")
        }
        return try decode(root, systems: systems)
    }

    public func decode(_ root: JSONValue, systems: [String: String] = [:]) throws -> Inventory {
        let top = try object(root, at: "")
        let metaObj = try top["meta"].map { try object($0, at: "meta") } ?? [:]
        let meta = Inventory.Meta(
            name: try optionalString(metaObj["name"], at: "meta.name") ?? "",
            domain: try optionalString(metaObj["domain"], at: "meta.domain")
                ?? optionalString(metaObj["tld"], at: "meta.tld") ?? "clan",
            description: try optionalString(metaObj["description"], at: "meta.description"))

        var machines = OrderedDictionary<String, Machine>()
        if let m = top["machines"] {
            for (name, value) in try object(m, at: "machines") {
                machines[name] = try machine(name: name, value, at: "machines.\(name)", system: systems[name])
            }
        }
        machines.sort { $0.key < $1.key }
        return Inventory(meta: meta, machines: machines, raw: root)
    }

    private func machine(name: String, _ value: JSONValue, at path: String, system: String?) throws -> Machine {
        let o = try object(value, at: path)
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
            guard let arr = t.arrayValue else {
                throw InventoryError(file: file, path: "\(path).tags", message: "expected array, found \(t.typeName)")
            }
            for (i, tag) in arr.enumerated() {
                guard let s = tag.stringValue else {
                    throw InventoryError(file: file, path: "\(path).tags[\(i)]", message: "expected string, found \(tag.typeName)")
                }
                if !tags.contains(s) { tags.append(s) }  // clan applies `unique`
            }
        }
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
        return m
    }

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
}
