import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fleet's own cache directory (`$XDG_CACHE_HOME/fleet`, `InventoryCache.defaultDirectory`): how its
/// files are written. Every cache file — the binary ones (`BinaryCacheFile`: the resolved fleet, the
/// vars index) and the JSON ones (`InventoryCache`, `FlakeSystemCache`, `DeployConfigCache`) — goes
/// through `write`, so they share one set of guarantees.
enum CacheDirectory {
    /// Cache files are the user's alone (they name hosts, store paths, secrets' recipients).
    static let fileMode: mode_t = 0o600
    /// Directories `write` has to create (the cache directory itself, on first use).
    static let directoryMode: mode_t = 0o700

    /// Writes `bytes` to `path` atomically. A cache: callers may ignore a failure (false).
    @discardableResult
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        bytes.withUnsafeBytes { write(pieces: [$0], to: path) }
    }

    /// Writes the pieces one after the other (no buffer of the whole) into a temporary sibling of
    /// this writer's own — `<path>.tmp-<pid>-<random>`, created with `O_EXCL | O_NOFOLLOW`, so
    /// neither another writer of the same file in this process nor anything already at that name
    /// is written through — then renames it over `path`: a reader sees the old file or the new
    /// one, whole. Short and interrupted writes are resumed; on any failure the temporary is
    /// removed. Not fsynced: every reader validates what it reads (checksum and length, or JSON and
    /// its key), so a file a crash left empty or torn is a miss, never a wrong answer, and a cache
    /// write never waits for the disk (the vars index is tens of MB).
    @discardableResult
    static func write(pieces: [UnsafeRawBufferPointer], to path: String) -> Bool {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex { makeDirectories(String(path[..<slash])) }
        var tmp = ""
        var fd: Int32 = -1
        for _ in 0..<8 {
            tmp = path + ".tmp-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fileMode)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { return false }
        var st = stat()
        let isNew = lstat(path, &st) != 0 && errno == ENOENT
        var ok = true
        pieces: for raw in pieces where raw.count > 0 {
            var off = 0
            while off < raw.count {
                let n = sysWrite(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; break pieces }
                off += n
            }
        }
        if close(fd) != 0 { ok = false }
        if !ok || rename(tmp, path) != 0 { unlink(tmp); return false }
        if isNew { pruneOnce(containing: path) }
        return true
    }

    /// `mkdir -p` with `directoryMode` for what it creates.
    static func makeDirectories(_ dir: String) {
        if mkdir(dir, directoryMode) == 0 || errno == EEXIST { return }
        if errno == ENOENT, let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            makeDirectories(String(dir[..<slash]))
            _ = mkdir(dir, directoryMode)
        }
    }
}

// MARK: pruning

extension CacheDirectory {
    /// Whether this process has pruned its cache directory already.
    private static let pruned = Mutex(false)

    /// Caches are keyed by the paths they were made for (a directory source, a clan directory, a
    /// flake), and every new key is a new file: the built-in demo's copies (one per fleet version),
    /// `FLEET_DEMO_DIR` and test copies leave files keyed by directories that are gone. When a
    /// write adds a file to fleet's own cache directory (`XDGDirectories.fleet(.cache)`, nowhere
    /// else), the directory is pruned once per process (`pruneStale`).
    private static func pruneOnce(containing path: String) {
        guard let slash = path.lastIndex(of: "/"), String(path[..<slash]) == XDGDirectories.fleet(.cache) else { return }
        guard pruned.withLock({ done in defer { done = true }; return !done }) else { return }
        pruneStale(String(path[..<slash]))
    }

    /// How old a temporary must be before it counts as left by a writer that died.
    static let staleTemporaryAge: TimeInterval = 3600

    /// Removes from `directory` (fleet's cache directory; nothing under it is entered, nothing is
    /// followed) the cache files whose key path no longer exists, and what dead writers left.
    /// Only regular files fleet names and writes are candidates, and only when they say which
    /// path they were made for and that path's hash is the one in their name:
    /// - `fleet-<h>.bin` (`ResolvedFleetCache`) and `vars-index-<h>.bin` (`VarsStatusIndex`): the
    ///   body's first field is the source / clan directory;
    /// - `inventory-<h>.json` (`InventoryCache`): its `flake` member; `systems-<h>.json`
    ///   (`FlakeSystemCache`) and `deploy-config-<h>.json` (`DeployConfigCache`): the flake reference
    ///   their name hashes and its `directory` (files from before these members are left alone);
    /// - `fleet-<h>.bin.<name>` (a rendering of that fleet file) once that file is gone;
    /// - `<cache file>.tmp-<pid>[-<random>]` whose writer is not running and that is over an hour old.
    /// A key path counts as gone only when `stat` says it does not exist (ENOENT/ENOTDIR); any
    /// other answer keeps the file. `demo-*` copies are `EmbeddedDemo`'s, left alone. Returns the
    /// names removed.
    @discardableResult
    static func pruneStale(_ directory: String, now: Date = Date()) -> [String] {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { return [] }
        defer { close(dfd) }
        let names = VarsFactReader.list(directory).map(\.name)
        let present = Set(names)
        var removed: [String] = []
        func remove(_ name: String) {
            if unlinkat(dfd, name, 0) == 0 { removed.append(name) }
        }
        for name in names.sorted() {
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            if let (target, pid) = temporary(name) {
                guard cacheName(target) != nil else { continue }
                let age = now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
                if age > staleTemporaryAge, kill(pid, 0) != 0, errno == ESRCH { remove(name) }
                continue
            }
            guard let (kind, hash, rest) = cacheName(name) else { continue }
            if kind == "fleet", !rest.isEmpty {
                // A rendering: useless without its fleet file (paired by checksum).
                if !present.contains("fleet-\(hash).bin") { remove(name) }
                continue
            }
            guard rest.isEmpty, let (key, path) = keyPath(dfd, name, kind: kind), hashed(key) == hash, isGone(path) else { continue }
            remove(name)
            if kind == "fleet" {
                for r in names where r.hasPrefix(name + ".") && temporary(r) == nil {
                    var rs = stat()
                    if fstatat(dfd, r, &rs, AT_SYMLINK_NOFOLLOW) == 0, rs.st_mode & S_IFMT == S_IFREG { remove(r) }
                }
            }
        }
        return removed
    }

    /// `(kind, hash, rest)` of `fleet-<h>.bin[.<rest>]`, `vars-index-<h>.bin`, `inventory-<h>.json`,
    /// `systems-<h>.json`, `deploy-config-<h>.json`.
    private static func cacheName(_ name: String) -> (kind: String, hash: String, rest: Substring)? {
        for (kind, suffix) in [("fleet", ".bin"), ("vars-index", ".bin"), ("inventory", ".json"), ("systems", ".json"),
                               ("deploy-config", ".json")] {
            guard name.hasPrefix(kind + "-") else { continue }
            let afterKind = name.dropFirst(kind.count + 1)
            let hash = afterKind.prefix(24)
            guard hash.count == 24, hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
            let tail = afterKind.dropFirst(24)
            guard tail.hasPrefix(suffix) else { return nil }
            let rest = tail.dropFirst(suffix.count)
            if rest.isEmpty { return (kind, String(hash), rest) }
            guard kind == "fleet", rest.hasPrefix("."), rest.count > 1, !rest.contains("/") else { return nil }
            return (kind, String(hash), rest.dropFirst())
        }
        return nil
    }

    /// `<target>.tmp-<pid>` (writers before `CacheDirectory`) or `<target>.tmp-<pid>-<hex>`.
    private static func temporary(_ name: String) -> (target: String, pid: pid_t)? {
        guard let r = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let tail = name[r.upperBound...]
        let digits = tail.prefix { $0.isASCII && $0.isNumber }
        let after = tail.dropFirst(digits.count)
        guard !digits.isEmpty, let pid = pid_t(digits), pid > 0,
              after.isEmpty || (after.hasPrefix("-") && after.count > 1 && after.dropFirst().allSatisfy(\.isHexDigit)) else { return nil }
        return (String(name[..<r.lowerBound]), pid)
    }

    private static func hashed(_ path: String) -> String {
        SHA256.hash(data: Array(path.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// Gone only when nothing is there (a path that cannot be looked at is kept).
    private static func isGone(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)
    }

    /// What a cache file's name hashes (`key`) and the path it was made for, read from its first
    /// bytes (never followed, at most 64 KiB).
    private static func keyPath(_ dfd: Int32, _ name: String, kind: String) -> (key: String, path: String)? {
        let fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var count = 0
        while count < buf.count {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            count += n
        }
        let head = Array(buf[0..<count])
        switch kind {
        case "inventory":
            // `{"key":"…","flake":"<dir>",…` as `InventoryCache.store` writes it; the name hashes the dir.
            guard let v = leadingStrings(head, ["key", "flake"]) else { return nil }
            return (v[1], v[1])
        case "systems":
            // `{"builder":"<builder>","directory":"<dir>",…` (`FlakeSystemCache.store`).
            guard let v = leadingStrings(head, ["builder", "directory"]) else { return nil }
            return (v[0], v[1])
        case "deploy-config":
            // `{"flake":"<flake>","directory":"<dir>",…` (`DeployConfigCache.store`).
            guard let v = leadingStrings(head, ["flake", "directory"]) else { return nil }
            return (v[0], v[1])
        default:
            let magic = Array((kind == "fleet" ? "FLTFLEET" : "FLTVARIX").utf8)
            guard count >= BinaryCacheFile.headerSize + 4, head.starts(with: magic) else { return nil }
            let path: String? = head.withUnsafeBytes { raw in
                var c = BinaryCursor(raw, at: BinaryCacheFile.headerSize)
                return c.string()
            }
            return path.map { ($0, $0) }
        }
    }

    /// The string values of `keys` when `head` begins `{"k1":"v1","k2":"v2"` exactly (compact JSON,
    /// `JSONWriter.compact`, members in that order); nil otherwise.
    static func leadingStrings(_ head: [UInt8], _ keys: [String]) -> [String]? {
        var i = 0
        func expect(_ text: String) -> Bool {
            let t = Array(text.utf8)
            guard head.count - i >= t.count, head[i..<(i + t.count)].elementsEqual(t) else { return false }
            i += t.count
            return true
        }
        var out: [String] = []
        for (n, key) in keys.enumerated() {
            guard expect((n == 0 ? "{" : ",") + "\"" + key + "\":") else { return nil }
            let start = i
            guard i < head.count, head[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            while i < head.count, head[i] != UInt8(ascii: "\"") { i += head[i] == UInt8(ascii: "\\") ? 2 : 1 }
            guard i < head.count, case .string(let v)? = try? JSONParser.parse(Array(head[start...i])) else { return nil }
            i += 1
            out.append(v)
        }
        return out
    }
}

/// write(2) under a name that nothing here shadows.
private func sysWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buf, count)
}
