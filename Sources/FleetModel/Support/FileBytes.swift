#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads with plain syscalls: open, fstat for the size, one read into a buffer of that
/// size. FileManager + Data + Array(data) copies a 6 MB inventory twice; the vars tree has
/// thousands of tiny files where every syscall counts.
public enum FileBytes {
    /// One buffer of at most `capacity` bytes read from `fd`, ending at EOF, when full, or after
    /// exactly `stopAt` bytes (-1: never); nil on a read error. `shortReadEnds`: a read that
    /// returns fewer bytes than asked for is the end — true of a regular file, whose read is short
    /// only at its end (it saves the read(2) that would return 0: one per file of ~8,000 at 10k
    /// machines); never for pipes or /proc.
    static func fill(_ fd: Int32, capacity: Int, stopAt: Int, shortReadEnds: Bool = false) -> [UInt8]? {
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
            count = 0
            while count < buf.count {
                let asked = buf.count - count
                let n = sysRead(fd, buf.baseAddress! + count, asked)
                if n < 0 { if errno == EINTR { continue }; failed = true; return }
                if n == 0 { return }
                count += n
                if count == stopAt || (shortReadEnds && n < asked) { return }
            }
        }
        return failed ? nil : out
    }

    /// The file's bytes, or nil when it cannot be opened or read (missing, a directory, no access).
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT != S_IFDIR else { return nil }
        // A regular file that delivered its whole size is done (no read returning 0 needed); other
        // files (/proc, pipes) report no useful size and are read until EOF.
        let expected = st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : -1
        guard var out = fill(fd, capacity: max(expected, 0) + 1, stopAt: expected) else { return nil }
        guard out.count > expected else { return out }
        // It grew, or has no size: read the rest in chunks.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { sysRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

extension FileBytes {
    /// A small file (a vars value: an IP, a name) in open + one read + close — no fstat, no heap
    /// buffer before the size is known; at 10k machines these are thousands of files per start.
    /// A directory fails the read (EISDIR); a file that fills the stack buffer falls back to `read(_:)`.
    public static func readSmall(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let capacity = MemoryLayout.size(ofValue: buf)
        let result: [UInt8]?? = withUnsafeMutableBytes(of: &buf) { raw in
            var n: Int
            repeat { n = sysRead(fd, raw.baseAddress!, capacity) } while n < 0 && errno == EINTR
            guard n >= 0 else { return .some(nil) }
            guard n < capacity else { return nil }   // maybe more: the general path
            // A short read of a regular file is its end (vars values are regular files).
            return .some(Array(raw.prefix(n)))
        }
        close(fd)
        if let result { return result }
        return read(path)
    }
}

/// read(2) under a name `FileBytes.read` does not shadow.
private func sysRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buf, count)
}
