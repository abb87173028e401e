import Foundation

/// A recipient key as clan compares them: `(publickey, type)` (clan_cli/secrets/sops.py `SopsKey`).
public struct SopsKeyRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case age, pgp }
    public let kind: Kind
    public let publicKey: String

    public init(_ publicKey: String, kind: Kind = .age) {
        self.kind = kind
        self.publicKey = publicKey
    }

    /// clan's message spelling, `age:age1…`.
    public var description: String { "\(kind.rawValue):\(publicKey)" }
    public static func < (a: SopsKeyRef, b: SopsKeyRef) -> Bool { (a.kind.rawValue, a.publicKey) < (b.kind.rawValue, b.publicKey) }
}

/// Who a key belongs to, found by matching it against `sops/users/*` and `sops/machines/*`.
public enum KeyOwner: Hashable, Comparable, Sendable, CustomStringConvertible {
    case user(String)
    case machine(String)

    public var description: String {
        switch self {
        case .user(let u): return "user:\(u)"
        case .machine(let m): return "machine:\(m)"
        }
    }
}

/// The public keys under `sops/users/<u>/key.json` and `sops/machines/<m>/key.json`
/// (clan-formats.md §2.3; both the array form and the legacy single object are accepted).
public struct SopsKeyIndex: Sendable {
    public let users: [String: Set<SopsKeyRef>]
    public let machines: [String: Set<SopsKeyRef>]
    /// key.json files that could not be read, with the reason; they never stop a scan.
    public let problems: [String]

    /// key → owners, built once: a status of thousands of secrets looks owners up per recipient.
    let ownersByKey: [SopsKeyRef: [KeyOwner]]

    public init(users: [String: Set<SopsKeyRef>], machines: [String: Set<SopsKeyRef>], problems: [String] = []) {
        self.users = users
        self.machines = machines
        self.problems = problems
        ownersByKey = Self.reverse(users: users, machines: machines)
    }

    static func reverse(users: [String: Set<SopsKeyRef>], machines: [String: Set<SopsKeyRef>]) -> [SopsKeyRef: [KeyOwner]] {
        var out: [SopsKeyRef: [KeyOwner]] = [:]
        for (u, keys) in users { for k in keys { out[k, default: []].append(.user(u)) } }
        for (m, keys) in machines { for k in keys { out[k, default: []].append(.machine(m)) } }
        for k in out.keys { out[k]?.sort() }
        return out
    }

    public init(clanDirectory dir: String) {
        var problems: [String] = []
        func load(_ kind: String) -> [String: Set<SopsKeyRef>] {
            let base = dir + "/sops/" + kind
            var out: [String: Set<SopsKeyRef>] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                let file = base + "/" + name + "/key.json"
                guard FileManager.default.fileExists(atPath: file) else { continue }
                do { out[name] = try SopsKeyIndex.readKeyFile(file) } catch { problems.append("\(error)") }
            }
            return out
        }
        users = load("users")
        machines = load("machines")
        self.problems = problems
        ownersByKey = Self.reverse(users: users, machines: machines)
    }

    /// The same from a fact reader (answers from the vars status index for unchanged key files).
    init(reader: VarsFactReader) {
        let files = Self.keyFiles(reader)
        self.init(Array(zip(files, files.map { $0.read(reader) })))
    }

    /// Every `sops/users/*` key file, then every `sops/machines/*` one, as `reader` lists them.
    static func keyFiles(_ reader: VarsFactReader) -> [KeyFile] {
        reader.names("sops/users").map { KeyFile(kind: .users, name: $0) }
            + reader.names("sops/machines").map { KeyFile(kind: .machines, name: $0) }
    }

    /// A `sops/<kind>/<name>/key.json` to read (`read`; `VarsStatusIndex` reads them over threads).
    struct KeyFile: Sendable {
        enum Kind: String, Sendable { case users, machines }
        var kind: Kind
        var name: String

        /// nil when absent.
        func read(_ reader: VarsFactReader) -> Result<Set<SopsKeyRef>, VarsError>? {
            reader.keyFile(reader.absolute("sops/\(kind.rawValue)/\(name)/key.json"))
        }
    }

    /// The index of the key files read, in listing order (users first, each folder's names sorted):
    /// absent ones left out, unreadable ones among the problems, in that order.
    init(_ read: [(file: KeyFile, result: Result<Set<SopsKeyRef>, VarsError>?)]) {
        var users: [String: Set<SopsKeyRef>] = [:], machines: [String: Set<SopsKeyRef>] = [:]
        var problems: [String] = []
        for (file, result) in read {
            switch result {
            case nil: continue
            case .success(let k)?: if file.kind == .users { users[file.name] = k } else { machines[file.name] = k }
            case .failure(let e)?: problems.append("\(e)")
            }
        }
        self.users = users
        self.machines = machines
        self.problems = problems
        ownersByKey = Self.reverse(users: users, machines: machines)
    }

    public func hasMachine(_ m: String) -> Bool { machines[m] != nil }

    public func owners(of key: SopsKeyRef) -> [KeyOwner] { ownersByKey[key] ?? [] }

    /// Reads one key.json; errors name the file and the field.
    public static func readKeyFile(_ path: String) throws -> Set<SopsKeyRef> {
        guard let data = FileBytes.read(path) else { throw VarsError(path, "cannot read file") }
        return try parseKeyFile(data, path: path)
    }

    /// A key.json's text → its keys; errors name `path` and the field.
    static func parseKeyFile(_ data: [UInt8], path: String) throws -> Set<SopsKeyRef> {
        let root: JSONValue
        do { root = try JSONParser.parse(data) } catch let e as JSONSyntaxError { throw VarsError(path, "invalid JSON at \(e)") }
        let entries: [JSONValue]
        switch root {
        case .array(let a): entries = a
        case .object: entries = [root]
        default: throw VarsError(path, "expected array or object, found \(root.typeName)")
        }
        var out = Set<SopsKeyRef>()
        for (i, e) in entries.enumerated() {
            let at = root.arrayValue == nil ? "" : "[\(i)]"
            guard let pk = e["publickey"]?.stringValue else { throw VarsError(path, "\(at)publickey: expected string") }
            let t = (e["type"]?.stringValue ?? "age").lowercased()
            guard let kind = SopsKeyRef.Kind(rawValue: t) else { throw VarsError(path, "\(at)type: expected age or pgp, found \"\(t)\"") }
            out.insert(SopsKeyRef(pk, kind: kind))
        }
        return out
    }
}

/// Reads who a secret directory is shared with, the way clan's `collect_keys_for_path` does:
/// the keys behind `machines/*`, `users/*` and `groups/*/{machines,users}/*` symlinks.
public enum SecretLinks {
    public struct Links: Equatable, Sendable {
        public var machines: [String] = []
        public var users: [String] = []
        public var groups: [String] = []
        public var keys: Set<SopsKeyRef> = []
        /// Links that point nowhere or to the wrong kind of directory (clan warns and ignores them).
        public var broken: [String] = []
    }

    /// Caches key.json reads and link targets across many secrets (a scan of thousands of vars reads
    /// each key once). Not for concurrent use.
    public final class KeyCache: @unchecked Sendable {
        /// Reads absolute paths (root `/`), without an index.
        let reader = VarsFactReader(root: "/")
        public init() {}
    }

    /// The links of `secretDir` (absolute) with clan's rules (`VarsFactReader.forEachLink`).
    public static func read(secretDir: String, cache: KeyCache = KeyCache()) -> Links {
        read(secretDir, reader: cache.reader)
    }

    /// The same through `reader` (`dir` relative to its root, or absolute); broken links are absolute.
    static func read(_ dir: String, reader: VarsFactReader) -> Links {
        var links = Links()
        reader.forEachLink(inSecretDir: dir, group: { links.groups.append($0) }) { kind, group, folder, name, keys in
            guard let keys else { links.broken.append(reader.absolute(folder) + "/" + name); return }
            links.keys.formUnion(keys)
            if group == nil {
                if kind == .machines { links.machines.append(name) } else { links.users.append(name) }
            }
        }
        return links
    }

    /// `/a/b/../c/./d` → `/a/c/d` without touching the file system (Foundation's
    /// `standardizingPath` issues a readlink per component, which dominates large status runs).
    /// Over the UTF-8 bytes (a cold status resolves ~200k links): components split at `/`, empty and
    /// `.` ones dropped, `..` drops the last one kept (none at the root); `/` joins what is left.
    static func lexicallyNormalized(_ path: String) -> String {
        var path = path
        return path.withUTF8 { src in
            let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
            let out = [UInt8](unsafeUninitializedCapacity: src.count + 1) { buf, count in
                var n = 0, i = 0
                while i < src.count {
                    if src[i] == slash { i += 1; continue }
                    var j = i
                    while j < src.count, src[j] != slash { j += 1 }
                    let length = j - i
                    if length == 1, src[i] == dot {
                        // "."
                    } else if length == 2, src[i] == dot, src[i + 1] == dot {
                        while n > 0 { n -= 1; if buf[n] == slash { break } }  // every kept component starts with "/"
                    } else {
                        buf[n] = slash
                        n += 1
                        for k in i..<j { buf[n] = src[k]; n += 1 }
                    }
                    i = j
                }
                if n == 0 { buf[0] = slash; n = 1 }
                count = n
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The name of the directory holding `path` (`machines` for `/c/sops/machines/m`), as
    /// `(path as NSString).deletingLastPathComponent.lastPathComponent` reads it.
    /// (The second-to-last non-empty component, found from the end over the UTF-8 bytes; `/` when
    /// there are fewer than two.)
    static func parentName(_ path: String) -> Substring {
        let u = path.utf8
        var end = u.endIndex
        func skip(slashes: Bool) {
            while end > u.startIndex {
                let before = u.index(before: end)
                if (u[before] == UInt8(ascii: "/")) != slashes { return }
                end = before
            }
        }
        skip(slashes: true)
        skip(slashes: false)  // the last component
        skip(slashes: true)
        let stop = end
        skip(slashes: false)
        return end < stop ? path[end..<stop] : "/"
    }

    /// Every symlink in `path` resolved (a link target that is itself a link).
    static func fullyResolved(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}

/// The recipients recorded in a sops file, read without decrypting: `sops.age[].recipient`
/// and `sops.pgp[].fp` (clan's `get_recipients`). Stand-in for `Sops.recipients(ofFileText:)`.
public enum SopsFileRecipients {
    public static func read(path: String) throws -> Set<SopsKeyRef> {
        guard let bytes = FileBytes.read(path) else { throw VarsError(path, "cannot read file") }
        return try parse(bytes, path: path)
    }

    /// The recipients in a sops JSON text, read from the tape (no `JSONValue` tree): the same
    /// answers and errors as `JSONParser.parse` + subscripts (duplicate keys: the last one wins).
    public static func parse(_ bytes: [UInt8], path: String) throws -> Set<SopsKeyRef> {
        let doc: JSONDocument
        do { doc = try JSONDocument(bytes) } catch let e as JSONSyntaxError { throw VarsError(path, "not a sops JSON file: invalid JSON at \(e)") }
        guard doc.kind(doc.root) == .object, let sops = doc.lastValue(doc.root, forKey: "sops"), doc.kind(sops) == .object else {
            throw VarsError(path, "sops: missing metadata object")
        }
        var out = Set<SopsKeyRef>()
        func add(_ meta: Int) {
            guard doc.kind(meta) == .object else { return }
            if let age = doc.lastValue(meta, forKey: "age"), doc.kind(age) == .array {
                for e in doc.elements(age) where doc.kind(e) == .object {
                    if let r = doc.lastValue(e, forKey: "recipient"), let s = doc.stringValue(r) { out.insert(SopsKeyRef(s)) }
                }
            }
            if let pgp = doc.lastValue(meta, forKey: "pgp"), doc.kind(pgp) == .array {
                for e in doc.elements(pgp) where doc.kind(e) == .object {
                    if let r = doc.lastValue(e, forKey: "fp"), let s = doc.stringValue(r) { out.insert(SopsKeyRef(s, kind: .pgp)) }
                }
            }
        }
        add(sops)
        if let groups = doc.lastValue(sops, forKey: "key_groups"), doc.kind(groups) == .array {
            for g in doc.elements(groups) { add(g) }
        }
        return out
    }
}
