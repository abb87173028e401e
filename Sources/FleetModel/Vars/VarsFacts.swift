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
    /// target as an absolute path, `..` applied from the folder the link really is in (through a
    /// secret's `groups/<g>` link: the group's folder), sorted by name. Non-links are left out (clan
    /// ignores them).
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
    /// Facts read from disk this run that the index should keep (new or changed), in the order read
    /// (machines and generators in walk order: the index writer's sort finds them mostly in order).
    private(set) var fresh: [(path: String, fact: StampedFact)] = []
    /// Stored facts found stale or gone this run (to be dropped from the index).
    private(set) var stale: Set<String> = []
    private(set) var hits = 0
    private(set) var misses = 0
    /// The stat-family calls this reader made (`fstatat`, `stat`, `lstat`): a warm status's floor.
    private(set) var stamps = 0
    /// When set, every such call and every open of a machine directory is recorded (the bench's stat
    /// floor replays them: `VarsStampLog`).
    var stampLog: VarsStampLog?
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
    private var linkedKeySets: [LinkFolders: (keys: Set<SopsKeyRef>, id: Int?)] = [:]

    struct ResolvedLink {
        var name: String
        var keys: Set<SopsKeyRef>?
    }

    private struct LinkFolders: Hashable {
        var machines: UInt64
        var users: UInt64
    }

    /// The path of the next lookup, relative to `root` (or absolute), NUL-terminated, at
    /// `cursorStart` in `buffer`: status builds each generator's paths here component by component,
    /// so a warm lookup allocates no `String` (one is made only when a file is read or a stored fact
    /// goes stale). Lookups by `String` (key files behind links, the key index, the disk scan) put
    /// their path after the current one (`withCursor`) and leave it as it was.
    private var buffer: UnsafeMutablePointer<UInt8>
    private var bufferCapacity = 512
    private var cursorStart = 0
    /// The cursor's length in bytes (without the NUL).
    private(set) var cursorLength = 0
    /// `vars/per-machine/<m>` of the machine being checked, open (`O_PATH`), and its length: lookups of
    /// that machine's generators walk three components instead of six.
    private var machineFD: Int32 = -1
    private var machineName = ""
    private var machinePrefix = 0
    /// Whether the cursor is a path under `machineFD` (set by `setCursor(generatorDir:)`).
    private var cursorInMachine = false

    init(root: String, stored: VarsIndexView? = nil, settledBeforeNs: Int64 = .min,
         keyMemo: [String: Result<Set<SopsKeyRef>, VarsError>?] = [:]) {
        self.root = root
        self.stored = stored
        self.settledBeforeNs = settledBeforeNs
        self.keyMemo = keyMemo
        rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        buffer = .allocate(capacity: bufferCapacity)
        buffer[0] = 0
    }

    deinit {
        if rootFD >= 0 { close(rootFD) }
        if machineFD >= 0 { close(machineFD) }
        buffer.deallocate()
    }

    /// `open` flags of a directory only looked up from: `O_PATH` on Linux (0o10000000; Glibc's module
    /// does not export it), which needs no read permission and opens nothing.
    #if os(Linux)
    static let directoryForLookups: Int32 = 0o10000000 | O_DIRECTORY | O_CLOEXEC
    #else
    static let directoryForLookups: Int32 = O_RDONLY | O_DIRECTORY | O_CLOEXEC
    #endif

    /// Opens `vars/per-machine/<machine>` for the lookups of that machine's generators (until another
    /// machine's); when it cannot be opened (absent), lookups go from the clan directory.
    func enterMachine(_ machine: String) {
        if machineFD >= 0 {
            if machineName == machine { return }
            close(machineFD)
            machineFD = -1
        }
        guard rootFD >= 0 else { return }
        setCursor("vars/per-machine/")
        appendCursor(machine)
        let fd = cursorPointer.withMemoryRebound(to: CChar.self, capacity: cursorLength + 1) {
            openat(rootFD, $0, Self.directoryForLookups)
        }
        stampLog?.record(.openMachine, cursorPointer, count: cursorLength)
        if fd >= 0 { machineFD = fd; machineName = machine; machinePrefix = cursorLength }
    }

    // MARK: the path cursor

    /// Sets the cursor to `rel` (the outermost path: whatever was on the cursor is dropped).
    func setCursor(_ rel: String) {
        cursorStart = 0
        cursorLength = 0
        cursorInMachine = false
        appendCursor(rel)
    }

    /// `body` with the cursor on `rel`, then the cursor as it was (a lookup inside another one's).
    private func withCursor<T>(_ rel: String, _ body: () -> T) -> T {
        let (start, length) = (cursorStart, cursorLength)
        cursorStart = start + length + 1
        cursorLength = 0
        appendCursor(rel)
        defer { cursorStart = start; cursorLength = length }
        return body()
    }

    /// Appends `part` to the cursor.
    func appendCursor(_ part: String) {
        var part = part
        part.withUTF8 { appendCursor(UnsafeRawBufferPointer($0)) }
    }

    func appendCursor(_ part: StaticString) {
        appendCursor(UnsafeRawBufferPointer(start: part.utf8Start, count: part.utf8CodeUnitCount))
    }

    private func appendCursor(_ bytes: UnsafeRawBufferPointer) {
        let end = cursorStart + cursorLength
        if end + bytes.count + 1 > bufferCapacity {
            var capacity = bufferCapacity * 2
            while end + bytes.count + 1 > capacity { capacity *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: buffer, count: end + 1)
            buffer.deallocate()
            buffer = grown
            bufferCapacity = capacity
        }
        if let base = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(buffer + end).copyMemory(from: base, byteCount: bytes.count)
        }
        cursorLength += bytes.count
        buffer[cursorStart + cursorLength] = 0
    }

    /// Cuts the cursor back to `length` bytes (a length it had before).
    func truncateCursor(_ length: Int) {
        cursorLength = length
        buffer[cursorStart + length] = 0
    }

    /// `vars/<relDir>` of `id` on the cursor (`setCursor`), without building the string.
    func setCursor(generatorDir id: GeneratorID) {
        cursorStart = 0
        cursorLength = 0
        cursorInMachine = machineFD >= 0 && id.machine == machineName && id.exportKey == nil
        appendCursor("vars/")
        if let m = id.machine {
            appendCursor("per-machine/"); appendCursor(m)
        } else if let e = id.exportKey {
            appendCursor("per-export/"); appendCursor(e)
        } else {
            appendCursor("shared")
        }
        appendCursor("/"); appendCursor(id.name)
    }

    private var cursorPointer: UnsafeMutablePointer<UInt8> { buffer + cursorStart }
    private var cursorBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: cursorPointer, count: cursorLength) }

    /// The cursor as a `String` (for the slow paths).
    var cursorString: String { String(decoding: cursorBytes, as: UTF8.self) }

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
        withCursor(rel) { stampAtCursor() }
    }

    /// `stamp` of the cursor's path.
    func stampAtCursor() -> FileStamp? {
        var st = stat()
        let r: Int32
        stamps += 1
        if cursorInMachine, cursorStart == 0, cursorLength > machinePrefix + 1 {
            // `vars/per-machine/<m>/<rest>` as `<rest>` relative to the machine's directory.
            r = (buffer + machinePrefix + 1).withMemoryRebound(to: CChar.self, capacity: cursorLength - machinePrefix) {
                fstatat(machineFD, $0, &st, 0)
            }
            stampLog?.record(.statInMachine, buffer + machinePrefix + 1, count: cursorLength - machinePrefix - 1)
        } else if rootFD >= 0 {
            r = cursorPointer.withMemoryRebound(to: CChar.self, capacity: cursorLength + 1) { fstatat(rootFD, $0, &st, 0) }
            stampLog?.record(.statInClan, cursorPointer, count: cursorLength)
        } else {
            let path = absolute(cursorString)
            r = stat(path, &st)
            stampLog?.record(.stat, path)
        }
        if r != 0 {
            if stored?.find(cursorBytes) != nil { stale.insert(cursorString) }
            return nil
        }
        return FileStamp(st)
    }

    func exists(_ rel: String) -> Bool { stamp(rel) != nil }

    /// `exists` of the cursor's path.
    func existsAtCursor() -> Bool { stampAtCursor() != nil }

    /// The fact for `rel`, from the index when its stamp matches, else derived by `read` from the
    /// open file (directories: from the path) and remembered. nil when the file is absent.
    private func fact(_ rel: String, _ read: (_ fd: Int32, _ stamp: FileStamp, _ rel: String) -> VarsFact) -> VarsFact? {
        withCursor(rel) { factAtCursor(read) }
    }

    /// `fact` of the cursor's path: on a hit, no `String` is made.
    private func factAtCursor(_ read: (_ fd: Int32, _ stamp: FileStamp, _ rel: String) -> VarsFact) -> VarsFact? {
        lastKey = nil
        guard let s = stampAtCursor() else { return nil }
        if let stored, let i = stored.find(cursorBytes) {
            if stored.stamp(i) == s, let f = storedFact(stored, i) { hits += 1; lastKey = stored.factKey(i); return f }
            stale.insert(cursorString)
        }
        return readFact(cursorString, stamp: s, read)
    }

    /// Reads `rel` (its stamp `s` just taken) into a fact and keeps it for the index when settled.
    private func readFact(_ rel: String, stamp s: FileStamp, _ read: (_ fd: Int32, _ stamp: FileStamp, _ rel: String) -> VarsFact) -> VarsFact {
        lastKey = nil
        misses += 1
        let f: VarsFact
        if s.isDirectory {
            f = read(-1, s, rel)
        } else {
            let fd = rootFD >= 0 ? openat(rootFD, rel, O_RDONLY | O_CLOEXEC) : open(absolute(rel), O_RDONLY | O_CLOEXEC)
            f = read(fd, s, rel)
            if fd >= 0 { close(fd) }
        }
        if s.newestNs < settledBeforeNs { fresh.append((rel, StampedFact(stamp: s, fact: f))) }
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
        withCursor(rel) { secretRecipientsAtCursor().result }
    }

    /// `secretRecipients` of the cursor's path, with the index's fact key when it answered (equal
    /// keys: equal recipients).
    func secretRecipientsAtCursor() -> (result: Result<[SopsKeyRef], VarsError>?, key: UInt64?) {
        guard let f = factAtCursor({ fd, s, rel in
            let path = self.absolute(rel)
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("\(VarsError(path, "cannot read file"))") }
            do { return .recipients(try SopsFileRecipients.parse(bytes, path: path).sorted()) } catch { return .unreadable("\(error)") }
        }) else { return (nil, nil) }
        switch f {
        case .recipients(let r): return (.success(r), lastKey)
        case .unreadable(let why): return (.failure(VarsError("", why)), nil)
        default: return (.failure(VarsError(absolute(cursorString), "unexpected index entry")), nil)
        }
    }

    /// `.validation-hash` read with `.strip()`; nil when absent or unreadable.
    func validationHash(_ rel: String) -> String? {
        withCursor(rel) { validationHashAtCursor() }
    }

    func validationHashAtCursor() -> String? {
        guard let f = factAtCursor({ fd, s, _ in
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
        withCursor(rel) { contentsAtCursor() ?? nil }
    }

    /// `contents` of the cursor's path, telling absent (nil) from present but unreadable or a
    /// directory (`.some(nil)`): a status's "missing" is absence, as `existsAtCursor` says.
    func contentsAtCursor() -> [UInt8]?? {
        guard let f = factAtCursor({ fd, s, _ in
            guard !s.isDirectory, let bytes = Self.readAll(fd, size: s.size) else { return .unreadable("") }
            return .bytes(bytes)
        }) else { return nil }
        if case .bytes(let b) = f { return .some(b) }
        return .some(nil)
    }

    /// Entry names of a directory, sorted; empty when absent.
    func names(_ rel: String) -> [String] {
        withCursor(rel) { namesAtCursor() }
    }

    func namesAtCursor() -> [String] {
        guard let f = factAtCursor({ _, s, rel in .names(s.isDirectory ? Self.list(self.absolute(rel)).map(\.name).sorted() : []) }) else { return [] }
        if case .names(let n) = f { return n }
        return []
    }

    /// The symlinks of a link directory with their resolved targets; empty when absent.
    func links(_ rel: String) -> [VarsLink] { withCursor(rel) { linkListAtCursor().links } }

    /// `links` of the cursor's path and the key of that answer: the index's fact key, 0 for an absent
    /// folder (no links), nil when read from disk. `viaGroupLink`: the folder is a group's
    /// `machines/` or `users/` reached through a secret's `groups/<g>` entry (`realGroupFolder`).
    private func linkListAtCursor(viaGroupLink: Bool = false) -> (links: [VarsLink], key: UInt64?) {
        guard let f = factAtCursor({ _, s, rel in
            guard s.isDirectory else { return .links([]) }
            let folder = self.absolute(rel)
            // Where the links' relative targets start from: the folder itself, except behind a
            // secret's `groups/<g>` link, where it is the group's own folder.
            let base = viaGroupLink ? self.realGroupFolder(folder) : folder
            var out: [VarsLink] = []
            for e in Self.list(folder).sorted(by: { $0.name < $1.name }) {
                guard let dest = Self.readLink(folder + "/" + e.name) else { continue }  // clan: only symlinks count
                // Like Python's Path.resolve for the relative links clan writes (the target itself
                // being a link is checked per run, `resolvedTarget`).
                var joined = dest.hasPrefix("/") ? dest : base + "/" + dest
                if !joined.hasPrefix("/") { joined = Self.cwd() + "/" + joined }
                out.append(VarsLink(name: e.name, target: SecretLinks.lexicallyNormalized(joined)))
            }
            return .links(out)
        }) else { return ([], 0) }
        if case .links(let l) = f { return (l, lastKey) }
        return ([], nil)
    }

    /// `<secret>/groups/<g>/<kind>` (absolute) as the directory it really is. clan links a secret to a
    /// group with `<secret>/groups/<g>` → `…/sops/groups/<g>` and a group to its members with
    /// `sops/groups/<g>/<kind>/<n>` → `../../../<kind>/<n>` (`allow_member`, clan-core
    /// pkgs/clan-cli/clan_cli/secrets/secrets.py:323; `add_member`, groups.py:135), and reads a member
    /// with `p.resolve(strict=True)` (secrets.py:117), which follows `groups/<g>` before the member
    /// link's `..`: those climb from `sops/groups/<g>/<kind>`, not from the secret. So the member
    /// links' targets start from the group link's target, itself resolved like any link target
    /// (`resolvedTarget`: a link to a link is followed to the end). The secret's own directories are
    /// taken as the directories clan makes them, as for its `machines/` and `users/` links. A
    /// `groups/<g>` that is a plain directory is read where it is.
    private func realGroupFolder(_ folder: String) -> String {
        guard let kindSlash = folder.lastIndex(of: "/") else { return folder }
        let groupEntry = String(folder[..<kindSlash])
        guard let dest = Self.readLink(groupEntry), let groupSlash = groupEntry.lastIndex(of: "/") else { return folder }
        var joined = dest.hasPrefix("/") ? dest : String(groupEntry[..<groupSlash]) + "/" + dest
        if !joined.hasPrefix("/") { joined = Self.cwd() + "/" + joined }
        return resolvedTarget(SecretLinks.lexicallyNormalized(joined)) + folder[kindSlash...]
    }

    /// A link's target with a final symlink resolved fully (as `SecretLinks` does), checked once per run.
    func resolvedTarget(_ target: String) -> String {
        let isLink: Bool
        if let m = symlinkMemo[target] {
            isLink = m
        } else {
            var st = stat()
            stamps += 1
            isLink = lstat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
            stampLog?.record(.lstat, target)
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
            for l in withCursor(rel, { resolvedFolderAtCursor(kind, viaGroupLink: group != nil) }).links {
                body(kind, group, rel, l.name, l.keys)
            }
        }
        folder(dir + "/machines", .machines, nil)
        folder(dir + "/users", .users, nil)
        for g in names(dir + "/groups") {
            onGroup(g)
            folder(dir + "/groups/" + g + "/machines", .machines, g)
            folder(dir + "/groups/" + g + "/users", .users, g)
        }
    }

    /// The links of the cursor's folder with their keys (`forEachLink`'s rules), memoised per folder
    /// content answered from the index; `key` nil when the folder was read from disk.
    private func resolvedFolderAtCursor(_ kind: LinkKind, viaGroupLink: Bool = false) -> (links: [ResolvedLink], key: UInt64?) {
        let (list, key) = linkListAtCursor(viaGroupLink: viaGroupLink)
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
        withCursor(dir) { linkedKeysAtCursor().keys }
    }

    /// `linkedKeys` of the secret directory on the cursor (left as it was), and an id of that answer
    /// when it was memoised (equal ids: equal key sets, this run).
    func linkedKeysAtCursor() -> (keys: Set<SopsKeyRef>, id: Int?) {
        let base = cursorLength
        appendCursor("/machines")
        let machines = resolvedFolderAtCursor(.machines)
        truncateCursor(base); appendCursor("/users")
        let users = resolvedFolderAtCursor(.users)
        truncateCursor(base); appendCursor("/groups")
        let groups = namesAtCursor()
        truncateCursor(base)
        func union() -> Set<SopsKeyRef> {
            var keys = Set<SopsKeyRef>()
            for l in machines.links { if let k = l.keys { keys.formUnion(k) } }
            for l in users.links { if let k = l.keys { keys.formUnion(k) } }
            for g in groups {
                for kind in [LinkKind.machines, .users] {
                    appendCursor("/groups/"); appendCursor(g); appendCursor(kind == .machines ? "/machines" : "/users")
                    for l in resolvedFolderAtCursor(kind, viaGroupLink: true).links { if let k = l.keys { keys.formUnion(k) } }
                    truncateCursor(base)
                }
            }
            return keys
        }
        guard groups.isEmpty, let m = machines.key, let u = users.key else { return (union(), nil) }
        let memoKey = LinkFolders(machines: m, users: u)
        if let k = linkedKeySets[memoKey] { return k }
        let k = (keys: union(), id: linkedKeySets.count + 1)
        linkedKeySets[memoKey] = (k.keys, k.id)
        return (k.keys, k.id)
    }

    /// The keys behind one link target (its `..` already applied), memoised per run.
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
        let r: Result<Set<SopsKeyRef>, VarsError>? = fact(rel, { fd, s, _ in
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
