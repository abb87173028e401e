#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One `vars/` value file the addresses of a fleet were derived from: its path relative to the clan
/// directory, the machine it was read for (nil: the whole fleet, e.g. a zerotier network id) and
/// its stamp when it was read (nil: it did not exist). The resolved-fleet cache keeps these to
/// tell whether cached addresses still hold (`ResolvedFleetCache`).
public struct VarsRead: Equatable, Sendable {
    public var owner: String?
    public var path: String
    var stamp: FileStamp?
}

/// Records the value files a `VarsDirectory` reads while addresses are resolved, each with the
/// stamp of the file it actually read (fstat of the open descriptor, taken before the read: a
/// write after it changes ctime, which the next start sees). Used by one resolution at a time.
public final class VarsReadRecorder: Sendable {
    private struct State { var owner: String?; var reads: [VarsRead] = []; var on = true }
    private let state = Mutex(State())

    public init() {}

    /// Reads inside `body` are attributed to `machine`.
    func owning<T>(_ machine: String, _ body: () -> T) -> T {
        let previous = state.withLock { s -> String? in defer { s.owner = machine }; return s.owner }
        defer { state.withLock { $0.owner = previous } }
        return body()
    }

    /// `owner`: the machine the read is for when the caller knows it (reads on several threads at
    /// once, `ZerotierIPs.prefetch`, where `owning` cannot say); else the current `owning` one.
    func record(_ path: String, _ stamp: FileStamp?, owner: String? = nil) {
        state.withLock { s in if s.on { s.reads.append(VarsRead(owner: owner ?? s.owner, path: path, stamp: stamp)) } }
    }

    /// What was recorded; later reads (a deploy resolving candidates) are not.
    public func finish() -> [VarsRead] {
        state.withLock { s in s.on = false; return s.reads }
    }

    /// `path`'s bytes (as `FileBytes.read` reads them), recording the stamp of the file read (or its
    /// absence) — one open, fstat, read and close.
    func read(root: String, _ relative: String, owner: String? = nil) -> [UInt8]? {
        let path = root + "/" + relative
        let r = Self.stampedRead(AT_FDCWD, path) { path }
        record(r, relative, owner: owner)
        return r.bytes
    }

    /// Records what `stampedRead` found (the file's stamp or absence, and whether it grew while read).
    func record(stamp: FileStamp?, grown: Bool, _ relative: String, owner: String?) {
        record(relative, stamp, owner: owner)
        if grown { record(relative, FileStamp.unusable, owner: owner) }
    }

    private func record(_ r: StampedRead, _ relative: String, owner: String?) {
        record(stamp: r.stamp, grown: r.grown, relative, owner: owner)
    }

    /// One read of a value file: its bytes, the stamp of the file read (nil: absent; `unusable`: not
    /// a regular file or not stat-able) and whether it grew while read (then the bytes are a second,
    /// plain read and the stamp does not describe them).
    struct StampedRead {
        var bytes: [UInt8]?
        var stamp: FileStamp?
        var grown = false
    }

    /// Reads `path` (relative to the directory `dir`, or absolute with `AT_FDCWD`) the way `read`
    /// does — one open, fstat, read and close; `fullPath` names it for the rare second read.
    static func stampedRead(_ dir: Int32, _ path: String, fullPath: () -> String) -> StampedRead {
        let fd = openat(dir, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return StampedRead(bytes: nil, stamp: errno == ENOENT || errno == ENOTDIR ? nil : FileStamp.unusable) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return StampedRead(bytes: nil, stamp: FileStamp.unusable) }
        let stamp = FileStamp(st)
        let size = Int(st.st_size)
        // Asks for one byte more than its size, so a file that grew while read is noticed; a
        // shorter read is its end (a regular file: checked above).
        let bytes = FileBytes.fill(fd, capacity: size + 1, stopAt: -1, shortReadEnds: true)
        // Grown while read: the stamp no longer describes these bytes.
        guard let bytes, bytes.count <= size else {
            return StampedRead(bytes: bytes == nil ? nil : FileBytes.read(fullPath()), stamp: stamp, grown: true)
        }
        return StampedRead(bytes: bytes, stamp: stamp)
    }
}

extension FileStamp {
    /// Never equal to a real file's stamp: a file that could not be stat-ed is never trusted.
    static let unusable = FileStamp(dev: .max, ino: .max, mode: .max, size: -1, mtimeNs: .max, ctimeNs: .max)
}
