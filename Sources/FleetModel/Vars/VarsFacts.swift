#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The identity of a file as `stat(2)` reports it. Any write changes ctime, which no tool can set
/// back; a replacement (rename over it) changes the inode. Equal stamps mean "the bytes we derived
/// a fact from are still there", given the settle rule of `VarsFactReader` (timestamps move in ticks).
struct FileStamp: Equatable, Sendable {
    var dev: UInt64
    var ino: UInt64
    var mode: UInt32
    var size: Int64
    var mtimeNs: Int64
    var ctimeNs: Int64

    init(dev: UInt64, ino: UInt64, mode: UInt32, size: Int64, mtimeNs: Int64, ctimeNs: Int64) {
        self.dev = dev; self.ino = ino; self.mode = mode; self.size = size; self.mtimeNs = mtimeNs; self.ctimeNs = ctimeNs
    }

    init(_ st: stat) {
        self.init(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), mode: UInt32(st.st_mode), size: Int64(st.st_size),
                  mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                  ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    var newestNs: Int64 { max(mtimeNs, ctimeNs) }
}

/// What vars status derives from one file or directory — all it ever needs of its bytes.
enum VarsFact: Equatable, Sendable {
    /// A secret's recipients from its sops metadata (`SopsFileRecipients`).
    case recipients([SopsKeyRef])
    /// A secret, key.json or value that could not be read or parsed: the error text.
    case unreadable(String)
    /// A small text file's content (`.validation-hash`, stripped as clan does).
    case text(String)
    /// A key.json's keys.
    case keys([SopsKeyRef])
    /// A directory of links (`machines/`, `users/`, `groups/<g>/…`): each symlink's name and its
    /// target resolved lexically (absolute), sorted by name. Non-links are left out (clan ignores them).
    case links([VarsLink])
    /// A directory's entry names, sorted (`sops/machines`, `sops/users`, `groups/`).
    case names([String])
    /// A public value's bytes (the Vars screen shows them; `VarsDiskScan`).
    case bytes([UInt8])
}

struct VarsLink: Equatable, Sendable {
    var name: String
    var target: String
}

struct StampedFact: Equatable, Sendable {
    var stamp: FileStamp
    var fact: VarsFact
}

/// Reads the facts vars status needs from a clan directory with plain syscalls (paths relative to an
/// open directory descriptor), and answers from `stored` — an earlier run's index, memory-mapped —
/// whenever the file's stamp is unchanged, so a warm status costs one `fstatat` per file and reads
/// nothing. One per thread: it memoises per run (key.json files, link targets, facts decoded from
/// the index) without locks.
final class VarsFactReader {
    let root: String
    private let rootFD: Int32
    private let stored: VarsIndexView?
    /// Facts decoded from `stored` this run, by `VarsIndexView.factKey` (equal payloads are stored once).
    private var decoded: [UInt64: VarsFact] = [:]
    /// Facts derived from files whose newest timestamp is at or after this are not kept for the
    /// index: a write in the same timestamp tick could leave size and times unchanged ("racy clean").
    private let settledBeforeNs: Int64
    /// Facts read from disk this run that the index should keep (new or changed).
    private(set) var fresh: [String: StampedFact] = [:]
    /// Stored facts found stale or gone this run (to be dropped from the index).
    private(set) var stale: Set<String> = []
    private(set) var hits = 0
    private(set) var misses = 0
    /// key.json reads of this run (another reader's can be handed in: the key index reads them all first).
    private(set) var keyMemo: [String: Result<Set<SopsKeyRef>, VarsError>?]
    private var symlinkMemo: [String: Bool] = [:]
    /// Per link target of this run: the name of its parent directory and the keys behind it (nil: no
    /// readable key.json) — one lookup per link instead of a target check, a split and a key.json lookup.
    private var targetMemo: [String: (parent: Substring, keys: Set<SopsKeyRef>?)] = [:]
    /// The index key of the fact the last `fact` call answered from the index; nil when it was read
    /// from disk (or absent). Equal keys are equal facts, so results derived from one can be memoised.
    private var lastKey: UInt64?
    /// Per link folder content of this run (`lastKey` and folder kind): each link's name and keys. The
    /// 10 generators of a machine link the same keys: one resolution per machine, not per secret.
    private var resolvedLinks: [UInt64: [ResolvedLink]] = [:]
    /// Per pair of `machines/` and `users/` folder contents (no `groups/`): the union of their keys.
    private var linkedKeySets: [LinkFolders: Set<SopsKeyRef>] = [:]

    struct ResolvedLink {
        var name: String
        var keys: Set<SopsKeyRef>?
    }

    private struct LinkFolders: Hashable {
        var machines: UInt64
        var users: UInt64
    }

    init(root: String, stored: VarsIndexView? = nil, settledBeforeNs: Int64 = .min,
         keyMemo: [String: Result<Set<SopsKeyRef>, VarsError>?] = [:]) {
        self.root = root
        self.stored = stored
        self.settledBeforeNs = settledBeforeNs
        self.keyMemo = keyMemo
        rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    deinit { if rootFD >= 0 { close(rootFD) } }

    /// `path` relative to the clan directory when it lies inside it (the index key), else absolute.
    func relative(_ path: String) -> String {
        if path.hasPrefix("/"), path.utf8.count > root.utf8.count + 1, path.hasPrefix(root),
           path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: root.utf8.count)] == UInt8(ascii: "/") {
            return String(path.utf8.dropFirst(root.utf8.count + 1))!
        }
        return path
    }

    func absolute(_ rel: String) -> String { rel.hasPrefix("/") ? rel : root + "/" + rel }

    /// `stat` (following links, like `FileManager.fileExists`); nil when absent or unreadable.
    func stamp(_ rel: String) -> FileStamp? {
        var st = stat()
        let r = rootFD >= 0 ? fstatat(rootFD, rel, &st, 0) : stat(absolute(rel), &st)
        if r != 0 {
            if stored?.find(rel) != nil { stale.insert(rel) }
            return nil
        }
        return FileStamp(st)
    }

    func exists(_ rel: String) -> Bool { stamp(rel) != nil }

    /// The fact for `rel`, from the index when its stamp matches, else derived by `read` from the
    /// open file (directories: from the path) and remembered. nil when the file is absent.
    private func fact(_ rel: String, _ read: (_ fd: Int32, _ stamp: FileStamp) -> VarsFact) -> VarsFact? {
        lastKey = nil
        guard let s = stamp(rel) else { return nil }
        return fact(rel, stamp: s, read)
    }

    private func fact(_ rel: String, stamp s: FileStamp, _ read: (_ fd: Int32, _ stamp: FileStamp) -> VarsFact) -> VarsFact {
        lastKey = nil
        if let stored, let i = stored.find(rel) {
            if stored.stamp(i) == s, let f = storedFact(stored, i) { hits += 1; lastKey = stored.factKey(i); return f }
            stale.insert(rel)
        }
        misses += 1
        let f: VarsFact
        if s.isDirectory {
            f = read(-1, s)
        } else {
            let fd = rootFD >= 0 ? openat(rootFD, rel, O_RDONLY | O_CLOEXEC) : open(absolute(rel), O_RDONLY | O_CLOEXEC)
            f = read(fd, s)
            if fd >= 0 { close(fd) }
        }
        if s.newestNs < settledBeforeNs { fresh[rel] = StampedFact(stamp: s, fact: f) }
        return f
    }

    private func storedFact(_ stored: VarsIndexView, _ i: Int) -> VarsFact? {
        let key = stored.factKey(i)
        if let f = decoded[key] { return f }
        let f = stored.fact(key)
        decoded[key] = f
        return f
    }

    /// The whole file behind `fd` (`size` from its stamp; grown files are read to EOF).
    private static func readAll(_ fd: Int32, size: Int64) -> [UInt8]? {
        guard fd >= 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(max(size, 0)) + 1)
        var count = 0
        while true {
            if count == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: max(4096, count))) }
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            count += n
        }
        out.removeSubrange(count...)
        return out
    }

    // MARK: the facts status asks for

    /// A secret's recipients, sorted: nil when the file is absent; errors as `SopsFileRecipients.read`.
    func secretRecipients(_ rel: String) -> Result<[SopsKeyRef], VarsError>? {
        guard let f = fact(rel, { fd, s in
            let path = self.absolute(rel)
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("\(VarsError(path, "cannot read file"))") }
            do { return .recipients(try SopsFileRecipients.parse(bytes, path: path).sorted()) } catch { return .unreadable("\(error)") }
        }) else { return nil }
        switch f {
        case .recipients(let r): return .success(r)
        case .unreadable(let why): return .failure(VarsError("", why))
        default: return .failure(VarsError(absolute(rel), "unexpected index entry"))
        }
    }

    /// `.validation-hash` read with `.strip()`; nil when absent or unreadable.
    func validationHash(_ rel: String) -> String? {
        guard let f = fact(rel, { fd, s in
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("") }
            return .text(VarsStatusChecker.stripValidationHash(bytes))
        }) else { return nil }
        if case .text(let t) = f { return t }
        return nil
    }

    /// Whether `rel` is a directory (following links, like `FileManager.fileExists(atPath:isDirectory:)`).
    func isDirectory(_ rel: String) -> Bool { stamp(rel)?.isDirectory ?? false }

    /// A file's bytes (a public value); nil when absent, a directory or unreadable
    /// (`FileManager.contents(atPath:)`).
    func contents(_ rel: String) -> [UInt8]? {
        guard let f = fact(rel, { fd, s in
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("") }
            return .bytes(bytes)
        }) else { return nil }
        if case .bytes(let b) = f { return b }
        return nil
    }

    /// Entry names of a directory, sorted; empty when absent.
    func names(_ rel: String) -> [String] {
        guard let f = fact(rel, { _, s in .names(s.isDirectory ? Self.list(self.absolute(rel)).map(\.name).sorted() : []) }) else { return [] }
        if case .names(let n) = f { return n }
        return []
    }

    /// The symlinks of a link directory with their lexically resolved targets; empty when absent.
    func links(_ rel: String) -> [VarsLink] { linkList(rel).links }

    /// `links` and the key of that answer: the index's fact key, 0 for an absent folder (no links),
    /// nil when read from disk.
    private func linkList(_ rel: String) -> (links: [VarsLink], key: UInt64?) {
        guard let f = fact(rel, { _, s in
            guard s.isDirectory else { return .links([]) }
            let folder = self.absolute(rel)
            var out: [VarsLink] = []
            for e in Self.list(folder).sorted(by: { $0.name < $1.name }) {
                guard let dest = Self.readLink(folder + "/" + e.name) else { continue }  // clan: only symlinks count
                // Like Python's Path.resolve for the relative links clan writes (the target itself
                // being a link is checked per run, `resolvedTarget`).
                var joined = dest.hasPrefix("/") ? dest : folder + "/" + dest
                if !joined.hasPrefix("/") { joined = Self.cwd() + "/" + joined }
                out.append(VarsLink(name: e.name, target: SecretLinks.lexicallyNormalized(joined)))
            }
            return .links(out)
        }) else { return ([], 0) }
        if case .links(let l) = f { return (l, lastKey) }
        return ([], nil)
    }

    /// A link's target with a final symlink resolved fully (as `SecretLinks` does), checked once per run.
    func resolvedTarget(_ target: String) -> String {
        let isLink: Bool
        if let m = symlinkMemo[target] {
            isLink = m
        } else {
            var st = stat()
            isLink = lstat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
            symlinkMemo[target] = isLink
        }
        return isLink ? SecretLinks.fullyResolved(target) : target
    }

    /// Which directory a secret's link folder is: `machines/` links must point into `sops/machines`,
    /// `users/` into `sops/users`.
    enum LinkKind: String { case machines, users }

    /// clan's `collect_keys_for_path` (clan_cli/secrets/secrets.py): every symlink in the secret's
    /// `machines/`, `users/` and `groups/<g>/{machines,users}/` (names sorted), with the keys of the
    /// key.json behind it — nil for a broken link (dangling, or not into the folder's kind of
    /// directory, or no readable key.json; clan warns and ignores it). Non-links are skipped. The one
    /// implementation of these rules: status (`VarsStatusChecker`) and `SecretLinks.read` use it.
    func forEachLink(inSecretDir dir: String, group onGroup: (String) -> Void = { _ in },
                     _ body: (_ kind: LinkKind, _ group: String?, _ folder: String, _ name: String, _ keys: Set<SopsKeyRef>?) -> Void) {
        func folder(_ rel: String, _ kind: LinkKind, _ group: String?) {
            for l in resolvedFolder(rel, kind).links { body(kind, group, rel, l.name, l.keys) }
        }
        folder(dir + "/machines", .machines, nil)
        folder(dir + "/users", .users, nil)
        for g in names(dir + "/groups") {
            onGroup(g)
            folder(dir + "/groups/" + g + "/machines", .machines, g)
            folder(dir + "/groups/" + g + "/users", .users, g)
        }
    }

    /// The links of one folder with their keys (`forEachLink`'s rules), memoised per folder content
    /// answered from the index; `key` nil when the folder was read from disk.
    private func resolvedFolder(_ rel: String, _ kind: LinkKind) -> (links: [ResolvedLink], key: UInt64?) {
        let (list, key) = linkList(rel)
        guard let key else { return (list.map { ResolvedLink(name: $0.name, keys: linkKeys(target: $0.target, kind: kind)) }, nil) }
        let memoKey = key << 1 | (kind == .machines ? 0 : 1)
        if let m = resolvedLinks[memoKey] { return (m, memoKey) }
        let resolved = list.map { ResolvedLink(name: $0.name, keys: linkKeys(target: $0.target, kind: kind)) }
        resolvedLinks[memoKey] = resolved
        return (resolved, memoKey)
    }

    /// The union of the keys behind a secret's links (`forEachLink`, clan's `collect_keys_for_path`);
    /// memoised per run for folders answered from the index when there is no `groups/`.
    func linkedKeys(inSecretDir dir: String) -> Set<SopsKeyRef> {
        let machines = resolvedFolder(dir + "/machines", .machines), users = resolvedFolder(dir + "/users", .users)
        let groups = names(dir + "/groups")
        func union() -> Set<SopsKeyRef> {
            var keys = Set<SopsKeyRef>()
            for l in machines.links { if let k = l.keys { keys.formUnion(k) } }
            for l in users.links { if let k = l.keys { keys.formUnion(k) } }
            for g in groups {
                for l in resolvedFolder(dir + "/groups/" + g + "/machines", .machines).links { if let k = l.keys { keys.formUnion(k) } }
                for l in resolvedFolder(dir + "/groups/" + g + "/users", .users).links { if let k = l.keys { keys.formUnion(k) } }
            }
            return keys
        }
        guard groups.isEmpty, let m = machines.key, let u = users.key else { return union() }
        let memoKey = LinkFolders(machines: m, users: u)
        if let k = linkedKeySets[memoKey] { return k }
        let k = union()
        linkedKeySets[memoKey] = k
        return k
    }

    /// The keys behind one link target (already resolved lexically), memoised per run.
    private func linkKeys(target: String, kind: LinkKind) -> Set<SopsKeyRef>? {
        let t: (parent: Substring, keys: Set<SopsKeyRef>?)
        if let m = targetMemo[target] {
            t = m
        } else {
            let resolved = resolvedTarget(target)
            let keys: Set<SopsKeyRef>?
            if case .success(let k)? = keyFile(resolved + "/key.json") { keys = k } else { keys = nil }
            t = (SecretLinks.parentName(resolved), keys)
            targetMemo[target] = t
        }
        return t.parent == kind.rawValue ? t.keys : nil
    }

    /// A key.json's keys: nil when absent; errors as `SopsKeyIndex.readKeyFile`. Memoised per run.
    func keyFile(_ path: String) -> Result<Set<SopsKeyRef>, VarsError>? {
        if let m = keyMemo[path] { return m }
        let rel = relative(path)
        let r: Result<Set<SopsKeyRef>, VarsError>? = fact(rel, { fd, s in
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("\(VarsError(path, "cannot read file"))") }
            do { return .keys(try SopsKeyIndex.parseKeyFile(bytes, path: path).sorted()) } catch { return .unreadable("\(error)") }
        }).map { f in
            switch f {
            case .keys(let k): return .success(Set(k))
            case .unreadable(let why): return .failure(VarsError("", why))
            default: return .failure(VarsError(path, "unexpected index entry"))
            }
        }
        keyMemo[path] = r
        return r
    }

    // MARK: syscalls

    static func list(_ dir: String) -> [(name: String, type: UInt8)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(String, UInt8)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            out.append((name, e.pointee.d_type))
        }
        return out
    }

    static func readLink(_ path: String) -> String? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }

    static func cwd() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
