import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The demo fleet built into the binary (`EmbeddedFiles.demo`, from the repository's `inventory/`),
/// unpacked once per content into `$XDG_CACHE_HOME/fleet/demo-<digest>`: fleet reads the demo as
/// the clan directory it is (vars, sops, clan's relative symlinks), so it needs real files — and an
/// installed binary has no source tree to find them in. The copy stays read-only for fleet
/// (`InventorySource.writableDirectory`).
///
/// Copies of other digests (other fleet versions) are pruned — but never one a running fleet reads:
/// every fleet that uses a copy holds a shared `flock` on `demo-<digest>.lock` until it exits, and
/// a copy goes only when its lock can be taken exclusively. Two binaries of different versions
/// running at once each keep their own copy. A copy without a lock file was unpacked by a fleet
/// from before the lock, which cannot say whether it is still running: it goes only when it has
/// not changed for `legacyAge`.
public enum EmbeddedDemo {
    /// How old a lock-less copy (unpacked by a fleet from before the lock) must be to be pruned.
    public static let legacyAge: TimeInterval = 7 * 24 * 3600

    /// Where this binary's demo is (or will be) unpacked.
    public static func location(environment: [String: String]) -> String {
        XDGDirectories.fleet(.cache, "demo-" + EmbeddedFiles.demo.digest, environment: environment)
    }

    /// The unpacked demo, unpacking it first when this content is not there yet, under this
    /// process's shared lock on it; then prunes other digests' copies. Unpacked beside and renamed
    /// into place, so a reader never sees half of it and two fleets starting at once both end up
    /// with one whole copy.
    public static func unpacked(environment: [String: String]) throws -> String {
        let dir = location(environment: environment)
        let fm = FileManager.default
        let cache = (dir as NSString).deletingLastPathComponent
        try? fm.createDirectory(atPath: cache, withIntermediateDirectories: true)
        holdSharedLock(dir + ".lock")
        defer { prune(cache: cache, keeping: EmbeddedFiles.demo.digest) }
        if fm.fileExists(atPath: dir) { return dir }
        let staging = dir + ".partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? fm.removeItem(atPath: staging) }
        do {
            try EmbeddedFiles.demo.write(to: staging)
            try fm.moveItem(atPath: staging, toPath: dir)
        } catch {
            if fm.fileExists(atPath: dir) { return dir }   // another fleet unpacked it meanwhile
            throw InventorySourceError("cannot unpack the built-in demo fleet into \(dir): \(error)")
        }
        return dir
    }

    /// Lock files this process holds shared, by path; open until the process exits.
    private static let held = Mutex<[String: Int32]>([:])

    /// Takes (once per path) a shared lock on `path` and keeps it. Best effort: without a lock
    /// (an unwritable cache) the demo still works; only pruning by another fleet is then unsafe,
    /// and it cannot unpack into that cache either.
    static func holdSharedLock(_ path: String) {
        held.withLock { held in
            guard held[path] == nil, let fd = lockedFile(path, LOCK_SH) else { return }
            held[path] = fd
        }
    }

    /// Opens (creating) `path` and takes `operation` on it; the descriptor, or nil when the lock
    /// is not to be had (LOCK_NB) or the file cannot be opened. A pruner unlinks a lock file while
    /// holding it, so a lock taken on a file no longer at `path` is retried on the new one.
    private static func lockedFile(_ path: String, _ operation: Int32) -> Int32? {
        for _ in 0..<8 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { return nil }
            var r: Int32
            repeat { r = flock(fd, operation) } while r != 0 && errno == EINTR
            if r == 0 && sameFile(fd, path) { return fd }
            close(fd)
            if r != 0 { return nil }
        }
        return nil
    }

    private static func sameFile(_ fd: Int32, _ path: String) -> Bool {
        var a = stat(), b = stat()
        return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// Removes every other digest's copy (`demo-<hex>`, its `.partial-*` leftovers, its lock
    /// file) that no running fleet holds. Entries are never followed: a symlink named like a copy
    /// is left alone, and a copy's own links are removed, not their targets. Best effort.
    static func prune(cache: String, keeping digest: String, now: Date = Date()) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: cache) else { return }
        var byDigest: [Substring: [String]] = [:]
        for name in names {
            guard name.hasPrefix("demo-") else { continue }
            let rest = name.dropFirst(5)
            let hex = rest.prefix { $0.isHexDigit }
            guard !hex.isEmpty, hex != digest else { continue }
            let suffix = rest.dropFirst(hex.count)
            guard suffix.isEmpty || suffix == ".lock" || suffix.hasPrefix(".partial-") else { continue }
            byDigest[hex, default: []].append(name)
        }
        for (hex, entries) in byDigest {
            let base = cache + "/demo-" + hex
            let lock = base + ".lock"
            if !entries.contains("demo-" + hex + ".lock") {
                // Unpacked by a fleet from before the lock: only an old, untouched copy goes.
                guard entries.allSatisfy({ modified(cache + "/" + $0).map { now.timeIntervalSince($0) > legacyAge } ?? true })
                else { continue }
            }
            guard let fd = lockedFile(lock, LOCK_EX | LOCK_NB) else { continue }   // in use
            for name in entries where !name.hasSuffix(".lock") { removeWithoutFollowing(cache + "/" + name) }
            unlink(lock)   // while held: a fleet waiting on it retries on a new file
            close(fd)
        }
    }

    /// lstat's modification time (FileManager's attributes do not follow a link).
    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// A directory is removed with its contents (FileManager walks without following links);
    /// anything else, a symlink included, is not a copy fleet made and stays.
    private static func removeWithoutFollowing(_ path: String) {
        let fm = FileManager.default
        guard (try? fm.attributesOfItem(atPath: path))?[.type] as? FileAttributeType == .typeDirectory else { return }
        try? fm.removeItem(atPath: path)
    }
}
