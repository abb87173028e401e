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

/// write(2) under a name that nothing here shadows.
private func sysWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buf, count)
}
