import Collections
import Foundation

/// Reads `generators.json`, the directory source's stand-in for each machine's evaluated
/// `clan.core.vars.generators` (clan-formats.md §2.1, §2.5). Format (documented in
/// docs/generators-json.md):
///
/// ```json
/// {
///   "version": 1,
///   "templates": { "<template>": { <generator fields> } },
///   "machines": {
///     "<machine>": {
///       "defaultGroups": ["<sops group>"],
///       "generators": { "<gen>": { "template": "<template>", <generator fields overriding it> } }
///     }
///   }
/// }
/// ```
///
/// Generator fields: `share` (bool), `dependencies` ([name]), `prompts` ({name: {description, type:
/// hidden|line|multiline|multiline-hidden, persist}}), `files` ({name: {secret, deploy, owner, group,
/// mode, neededFor}}), `validation` (any JSON; hashed like clan) or `validationHash` (string), `script`
/// (bash text run with `$in`, `$out`, `$prompts`). In `script` and in strings inside `validation`,
/// `@machine@` is replaced by the declaring machine's name (like a Nix string interpolation would).
public struct GeneratorsFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Loads and parses the file; errors name the file and the JSON path of the bad field.
    public func load() throws -> GeneratorCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VarsError(path, "cannot read file")
        }
        let root: JSONValue
        do { root = try JSONParser.parse(Array(data)) } catch let e as JSONSyntaxError {
            throw VarsError(path, "invalid JSON at \(e)")
        }
        return try parse(root)
    }

    public func parse(_ root: JSONValue) throws -> GeneratorCatalog {
        let top = try object(root, at: "")
        if let v = top["version"], v.intValue != 1 {
            throw VarsError(path, "version: unsupported version \(ValidationHash.nixToJSON(v)), expected 1")
        }
        let templates = try top["templates"].map { try object($0, at: "templates") } ?? [:]
        for (name, t) in templates { _ = try object(t, at: "templates.\(name)") }
        var machines: [String: [GeneratorDefinition]] = [:]
        var groups: [String: [String]] = [:]
        // A generator that is only `{"template": t}` of a template that never says `@machine@` is the
        // same definition on every machine: parsed once per (template, name) — 10k machines × 10
        // generators are 10 parses, not 100k.
        var fromTemplate: [String: GeneratorDefinition] = [:]
        var machineFree: [String: Bool] = [:]
        for (machine, mv) in try top["machines"].map({ try object($0, at: "machines") }) ?? [:] {
            let at = "machines.\(machine)"
            let mo = try object(mv, at: at)
            groups[machine] = try stringList(mo["defaultGroups"], at: "\(at).defaultGroups")
            var defs: [GeneratorDefinition] = []
            for (gen, gv) in try mo["generators"].map({ try object($0, at: "\(at).generators") }) ?? [:] {
                // The common case, `{"template": t}` of a template parsed before for this name
                // (`fromTemplate` holds only those): no path string, no copy of the fields.
                if let o = gv.objectValue, o.count == 1, let tname = o["template"]?.stringValue,
                   let def = fromTemplate[tname + "\u{0}" + gen] {
                    try checkName(machine, .machine, at: "\(at).generators.\(gen)")  // the rest was checked when it was parsed
                    defs.append(def)
                    continue
                }
                let gat = "\(at).generators.\(gen)"
                var fields = try object(gv, at: gat)
                var cacheKey: String?
                if let t = fields.removeValue(forKey: "template") {
                    guard let tname = t.stringValue else { throw VarsError(path, "\(gat).template: expected string, found \(t.typeName)") }
                    guard let base = templates[tname]?.objectValue else {
                        throw VarsError(path, "\(gat).template: no template named \"\(tname)\"")
                    }
                    if fields.isEmpty {
                        let free = machineFree[tname] ?? !Self.mentionsMachine(.object(base))
                        machineFree[tname] = free
                        if free { cacheKey = tname + "\u{0}" + gen }
                    }
                    var merged = base
                    for (k, v) in fields { merged[k] = v }
                    fields = merged
                }
                let def = try generator(name: gen, fields, machine: machine, at: gat)
                if let cacheKey { fromTemplate[cacheKey] = def }
                defs.append(def)
            }
            machines[machine] = defs.sorted { $0.name < $1.name }
        }
        return try GeneratorCatalog(machines: machines, defaultGroups: groups, source: path)
    }

    private func checkName(_ name: String, _ kind: NameKind, at: @autoclosure () -> String) throws {
        do { try NameValidation.validate(name, as: kind) } catch let e as NameError { throw VarsError(path, "\(at()): \(e)") }
    }

    private static let generatorKeys: Set<String> = ["share", "dependencies", "prompts", "files", "validation",
                                                     "validationHash", "script", "runtimeInputs", "description"]

    private func generator(name: String, _ o: OrderedDictionary<String, JSONValue>, machine: String, at: String) throws -> GeneratorDefinition {
        for k in o.keys where !Self.generatorKeys.contains(k) {
            throw VarsError(path, "\(at).\(k): unknown field")
        }
        // Names become paths (vars/…/<gen>/<file>/secret, the sandbox's prompts/<name>): check them
        // against clan's allowed characters first (NameValidation).
        try checkName(machine, .machine, at: at)
        try checkName(name, .generator, at: at)
        var g = GeneratorDefinition(name: name)
        g.share = try bool(o["share"], at: "\(at).share") ?? false
        g.dependencies = try stringList(o["dependencies"], at: "\(at).dependencies")
        for d in g.dependencies { try checkName(d, .generator, at: "\(at).dependencies") }
        for (pname, pv) in try o["prompts"].map({ try object($0, at: "\(at).prompts") }) ?? [:] {
            let pat = "\(at).prompts.\(pname)"
            try checkName(pname, .file, at: pat)
            let po = try object(pv, at: pat)
            var kind = PromptDefinition.Kind.line
            if let t = try string(po["type"], at: "\(pat).type") {
                guard let k = PromptDefinition.Kind(rawValue: t) else {
                    throw VarsError(path, "\(pat).type: expected one of hidden, line, multiline, multiline-hidden, found \"\(t)\"")
                }
                kind = k
            }
            g.prompts.append(PromptDefinition(name: pname, description: try string(po["description"], at: "\(pat).description"),
                                              kind: kind, persist: try bool(po["persist"], at: "\(pat).persist") ?? false))
        }
        g.prompts.sort { $0.name < $1.name }
        for (fname, fv) in try o["files"].map({ try object($0, at: "\(at).files") }) ?? [:] {
            let fat = "\(at).files.\(fname)"
            try checkName(fname, .file, at: fat)
            guard !fname.isEmpty, !fname.contains("/"), fname != ".validation-hash" else {
                throw VarsError(path, "\(fat): invalid file name")
            }
            let fo = try object(fv, at: fat)
            var f = VarFileDefinition(name: fname)
            f.secret = try bool(fo["secret"], at: "\(fat).secret") ?? true
            f.deploy = try bool(fo["deploy"], at: "\(fat).deploy") ?? true
            f.owner = try string(fo["owner"], at: "\(fat).owner") ?? "root"
            f.group = try string(fo["group"], at: "\(fat).group") ?? "root"
            f.mode = try string(fo["mode"], at: "\(fat).mode") ?? "0400"
            if let n = try string(fo["neededFor"], at: "\(fat).neededFor") {
                guard let nf = VarFileDefinition.NeededFor(rawValue: n) else {
                    throw VarsError(path, "\(fat).neededFor: expected one of partitioning, activation, users, services, found \"\(n)\"")
                }
                f.neededFor = nf
            }
            g.files.append(f)
        }
        g.files.sort { $0.name < $1.name }
        // persist = true implies a secret file named after the prompt (clan interface.nix).
        for p in g.prompts where p.persist && g.file(p.name) == nil {
            g.files.append(VarFileDefinition(name: p.name))
            g.files.sort { $0.name < $1.name }
        }
        if let h = o["validationHash"], !h.isNull {
            guard let s = h.stringValue else { throw VarsError(path, "\(at).validationHash: expected string, found \(h.typeName)") }
            g.validationHash = s
        } else if let v = o["validation"] {
            g.validationHash = ValidationHash.hash(of: substitute(v, machine: machine))
        }
        if let s = try string(o["script"], at: "\(at).script") {
            g.script = s.replacingOccurrences(of: "@machine@", with: machine)
        }
        return g
    }

    /// Whether `@machine@` occurs in a string (or key) anywhere in `v`: then its definition differs per machine.
    private static func mentionsMachine(_ v: JSONValue) -> Bool {
        switch v {
        case .string(let s): return s.contains("@machine@")
        case .array(let a): return a.contains(where: mentionsMachine)
        case .object(let o): return o.contains { $0.key.contains("@machine@") || mentionsMachine($0.value) }
        default: return false
        }
    }

    private func substitute(_ v: JSONValue, machine: String) -> JSONValue {
        switch v {
        case .string(let s): return .string(s.replacingOccurrences(of: "@machine@", with: machine))
        case .array(let a): return .array(a.map { substitute($0, machine: machine) })
        case .object(let o):
            var out = OrderedDictionary<String, JSONValue>()
            for (k, x) in o { out[k] = substitute(x, machine: machine) }
            return .object(out)
        default: return v
        }
    }

    private func object(_ v: JSONValue, at p: String) throws -> OrderedDictionary<String, JSONValue> {
        guard let o = v.objectValue else { throw VarsError(path, "\(p.isEmpty ? "" : p + ": ")expected object, found \(v.typeName)") }
        return o
    }

    private func string(_ v: JSONValue?, at p: String) throws -> String? {
        guard let v, !v.isNull else { return nil }
        guard let s = v.stringValue else { throw VarsError(path, "\(p): expected string, found \(v.typeName)") }
        return s
    }

    private func bool(_ v: JSONValue?, at p: String) throws -> Bool? {
        guard let v, !v.isNull else { return nil }
        guard let b = v.boolValue else { throw VarsError(path, "\(p): expected boolean, found \(v.typeName)") }
        return b
    }

    private func stringList(_ v: JSONValue?, at p: String) throws -> [String] {
        guard let v, !v.isNull else { return [] }
        guard let a = v.arrayValue else { throw VarsError(path, "\(p): expected array, found \(v.typeName)") }
        return try a.enumerated().map { i, x in
            guard let s = x.stringValue else { throw VarsError(path, "\(p)[\(i)]: expected string, found \(x.typeName)") }
            return s
        }
    }
}
