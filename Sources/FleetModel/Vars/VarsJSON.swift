import Collections

/// `--json` shapes of `fleet vars check` and `fleet vars list`, shared by CLI and tests.
public enum VarsJSON {
    static func obj(_ pairs: [(String, JSONValue)]) -> JSONValue {
        var o = OrderedDictionary<String, JSONValue>()
        for (k, v) in pairs { o[k] = v }
        return .object(o)
    }
    static func strings(_ a: [String]) -> JSONValue { .array(a.map { .string($0) }) }
    static func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }

    public static func recipient(_ r: RecipientInfo) -> JSONValue {
        obj([("key", .string(r.key.publicKey)), ("type", .string(r.key.kind.rawValue)),
             ("owners", strings(r.owners.map(\.description)))])
    }

    public static func problem(_ p: VarProblem?) -> JSONValue {
        guard let p else { return .null }
        var pairs: [(String, JSONValue)] = [("kind", .string(p.kind))]
        switch p {
        case .missingAccess(let m): pairs.append(("machine", .string(m)))
        case .unfixed(let added, let extra):
            pairs.append(("addedKeys", strings(added.map(\.description))))
            pairs.append(("extraKeys", strings(extra.map(\.description))))
        case .unreadable(let why): pairs.append(("error", .string(why)))
        default: break
        }
        return obj(pairs)
    }

    public static func file(_ f: VarFileStatus) -> JSONValue {
        obj([("name", .string(f.file.name)), ("id", .string(f.id)), ("path", .string(f.path)),
             ("secret", .bool(f.file.secret)), ("deploy", .bool(f.file.deploy)), ("owner", .string(f.file.owner)),
             ("group", .string(f.file.group)), ("mode", .string(f.file.mode)), ("neededFor", .string(f.file.neededFor.rawValue)),
             ("status", .string(f.problem?.kind ?? "ok")), ("problem", problem(f.problem)),
             ("recipients", .array(f.recipients.map(recipient))),
             ("adminCanDecrypt", f.adminCanDecrypt.map { .bool($0) } ?? .null)])
    }

    public static func generator(_ g: GeneratorStatus) -> JSONValue {
        obj([("name", .string(g.id.name)), ("shared", .bool(g.id.isShared)), ("relDir", .string("vars/" + g.id.relDir)),
             ("validation", .string(g.validationOK ? "ok" : "invalid")),
             ("storedValidationHash", opt(g.storedValidationHash)), ("wantedValidationHash", opt(g.wantedValidationHash)),
             ("files", .array(g.files.map(file)))])
    }

    /// Flat list of problems: `{machine, kind, generator, shared, file?, ...}`.
    public static func problems(_ m: MachineVarsStatus) -> [JSONValue] {
        var out: [JSONValue] = []
        for g in m.generators {
            for f in g.files {
                if let p = f.problem, case .object(var o) = problem(p) {
                    o[m.exportKey == nil ? "machine" : "exportKey"] = .string(m.machine)
                    o["generator"] = .string(g.id.name)
                    o["shared"] = .bool(g.id.isShared)
                    o["file"] = .string(f.file.name)
                    out.append(.object(o))
                }
            }
            if !g.validationOK {
                out.append(obj([("kind", .string("invalid")), (m.exportKey == nil ? "machine" : "exportKey", .string(m.machine)), ("generator", .string(g.id.name)),
                                ("shared", .bool(g.id.isShared)), ("stored", opt(g.storedValidationHash)), ("wanted", opt(g.wantedValidationHash))]))
            }
        }
        return out
    }

    public static func machine(_ m: MachineVarsStatus) -> JSONValue {
        obj([m.exportKey.map { ("exportKey", .string($0)) } ?? ("machine", .string(m.machine)), ("ok", .bool(!m.hasProblems)),
             ("missingSecretVars", strings(m.missingSecretVars.map(\.id))),
             ("missingPublicVars", strings(m.missingPublicVars.map(\.id))),
             ("unfixedSecretVars", strings(m.unfixedSecretVars.map(\.id))),
             ("invalidGenerators", strings(m.invalidGenerators)),
             ("undecryptableVars", strings(m.undecryptableVars.map(\.id))),
             ("problems", .array(problems(m))),
             ("generators", .array(m.generators.map(generator)))])
    }

    /// `exports`: the flake-level generators per export key (`VarsStatusChecker.exportStatuses`).
    public static func check(_ machines: [MachineVarsStatus], exports: [MachineVarsStatus] = []) -> JSONValue {
        obj([("ok", .bool(!(machines + exports).contains { $0.hasProblems })), ("machines", .array(machines.map(machine))),
             ("exports", .array(exports.map(machine)))])
    }

    static func links(_ l: SecretLinks.Links) -> JSONValue {
        obj([("machines", strings(l.machines)), ("users", strings(l.users)), ("groups", strings(l.groups)), ("broken", strings(l.broken))])
    }

    public static func scan(_ s: VarsDiskScan) -> JSONValue {
        let entries: [JSONValue] = s.entries.map { e in
            var pairs: [(String, JSONValue)] = [
                ("machine", opt(e.machine)), ("shared", .bool(e.generatorID.isShared)), ("exportKey", opt(e.exportKey)), ("generator", .string(e.generator)),
                ("file", .string(e.file)), ("kind", .string(e.kind.rawValue)),
            ]
            if let v = e.value {
                pairs.append(("value", String(validating: v, as: UTF8.self).map { .string($0) } ?? .string("<binary blob>")))
            }
            pairs += [("recipients", .array(e.recipients.map(recipient))), ("links", links(e.links)),
                      ("orphan", .bool(e.orphan)), ("drift", .bool(e.drift)), ("error", opt(e.error))]
            return obj(pairs)
        }
        let hashes = obj(s.validationHashes.keys.sorted().map { ($0, .string(s.validationHashes[$0] ?? "")) })
        let sops = s.sopsSecrets.map { x in
            obj([("name", .string(x.name)), ("recipients", .array(x.recipients.map(recipient))), ("links", links(x.links)), ("error", opt(x.error))])
        }
        func keyMap(_ d: [String: Set<SopsKeyRef>]) -> JSONValue {
            obj(d.keys.sorted().map { ($0, strings((d[$0] ?? []).sorted().map(\.publicKey))) })
        }
        return obj([("vars", .array(entries)), ("validationHashes", hashes), ("sopsSecrets", .array(sops)),
                    ("users", keyMap(s.keys.users)), ("machines", keyMap(s.keys.machines)),
                    ("orphanMachines", strings(s.orphanMachines)), ("unknownKeys", strings(s.unknownKeys.map(\.description))),
                    ("keyProblems", strings(s.keys.problems))])
    }
}
