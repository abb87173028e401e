import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement: write a temp sibling, fsync it, rename over the target, fsync
/// the directory. Readers see the old or the new file, never a torn one.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let tmp = (dir as NSString).appendingPathComponent(".\(name).tmp-\(UUID().uuidString.prefix(8))")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SopsError("cannot create temporary file: \(String(cString: strerror(errno)))", file: tmp) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                #if canImport(Glibc)
                Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                #else
                Darwin.write(fd, raw.baseAddress! + off, raw.count - off)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                let e = String(cString: strerror(errno)); close(fd)
                throw SopsError("write failed: \(e)", file: path)
            }
            off += n
        }
        if fsync(fd) != 0 { let e = String(cString: strerror(errno)); close(fd); throw SopsError("fsync failed: \(e)", file: path) }
        close(fd)
        guard rename(tmp, path) == 0 else { throw SopsError("rename failed: \(String(cString: strerror(errno)))", file: path) }
        ok = true
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }
}
