import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement: write a temporary sibling, fsync it, rename it over the target,
/// fsync the directory. A reader (or a crash at any instant) sees the old file or the new one,
/// never a half-written var.
public enum VarsAtomicWrite {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw VarsError(tmp, "cannot create: \(String(cString: strerror(errno)))") }
        do {
            try writeAll(fd, bytes, path: tmp)
            guard fsync(fd) == 0 else { throw VarsError(tmp, "fsync failed: \(String(cString: strerror(errno)))") }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw VarsError(path, "rename failed: \(e)")
        }
        syncDirectory(dir)
    }

    /// Creates or replaces a symlink atomically (symlink to a temp name, rename over).
    public static func symlink(target: String, at path: String) throws {
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: path), existing == target { return }
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/.\((path as NSString).lastPathComponent).lnk-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard sysSymlink(target, tmp) == 0 else { throw VarsError(tmp, "cannot create symlink: \(String(cString: strerror(errno)))") }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw VarsError(path, "rename failed: \(e)")
        }
        syncDirectory(dir)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { sysWrite(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VarsError(path, "write failed: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

#if canImport(Glibc)
private let sysWrite = Glibc.write
private let sysSymlink = Glibc.symlink
#else
private let sysWrite = Darwin.write
private let sysSymlink = Darwin.symlink
#endif
