#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Little-endian building blocks of fleet's binary cache files (`FleetCacheFile`): a header with a
/// magic, a version and a checksum of the body, bounds-checked reads, a read-only memory map and an
/// atomic write. A file that is short, foreign, of another version or fails its checksum never
/// opens; every read past the end answers nil (the caller then ignores the cache).
enum BinaryCacheFile {
    static let headerSize = 32

    /// header (magic 8 · version u32 · 0 u32 · body length u64 · checksum u64) + body.
    static func seal(_ body: [UInt8], magic: [UInt8], version: UInt32) -> [UInt8] {
        var w = BinaryWriter()
        w.bytes.reserveCapacity(headerSize + body.count)
        w.bytes.append(contentsOf: magic.prefix(8))
        w.u32(version); w.u32(0); w.u64(UInt64(body.count)); w.u64(checksum(body))
        w.bytes.append(contentsOf: body)
        return w.bytes
    }

    /// The header of a sealed file whose body is `pieces` one after the other (`seal` without
    /// copying the body: `write(pieces:)`), and the body checksum.
    static func header(pieces: [UnsafeRawBufferPointer], magic: [UInt8], version: UInt32) -> (header: [UInt8], checksum: UInt64) {
        let count = pieces.reduce(0) { $0 + $1.count }
        var sum = Checksum(count: count)
        for p in pieces { sum.add(p) }
        let checksum = sum.finish()
        var w = BinaryWriter()
        w.bytes.reserveCapacity(headerSize)
        w.bytes.append(contentsOf: magic.prefix(8))
        w.u32(version); w.u32(0); w.u64(UInt64(count)); w.u64(checksum)
        return (w.bytes, checksum)
    }

    /// The checksum of one buffer (`Checksum` with a single piece).
    static func checksum(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { checksum($0) } }

    @inline(__always)
    static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var sum = Checksum(count: raw.count)
        sum.add(raw)
        return sum.finish()
    }

    /// The checksum of sealed files' bodies, and the vars index's path hash: a 64-bit multiply-rotate
    /// hash over 8-byte little-endian words (a last, short word zero-padded), seeded with the length.
    /// Catches truncation and bit rot, not an adversary (the cache directory is the user's own). Given
    /// in pieces, the words are carried across the pieces' boundaries, so a body never has to be copied
    /// into one buffer to be checksummed.
    struct Checksum {
        private var h: UInt64
        /// Bytes of an unfinished word (little-endian), and how many.
        private var carry: UInt64 = 0
        private var carried = 0
        private static let k: UInt64 = 0x9E37_79B9_7F4A_7C15

        init(count: Int) { h = 0x243F_6A88_85A3_08D3 ^ UInt64(count) }

        private mutating func mix(_ w: UInt64) {
            h = (h ^ w) &* Self.k
            h = (h << 31) | (h >> 33)
        }

        @inline(__always)
        mutating func add(_ raw: UnsafeRawBufferPointer) {
            var i = 0
            if carried > 0 {
                while carried < 8, i < raw.count { carry |= UInt64(raw[i]) << UInt64(8 * carried); carried += 1; i += 1 }
                guard carried == 8 else { return }
                mix(carry); carry = 0; carried = 0
            }
            while i + 8 <= raw.count {
                mix(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            while i < raw.count { carry |= UInt64(raw[i]) << UInt64(8 * carried); carried += 1; i += 1 }
        }

        /// The checksum (`count` given to `init` must be the number of bytes added).
        func finish() -> UInt64 {
            let f = (h ^ carry) &* Self.k
            return f ^ (f >> 29)
        }
    }

    /// The body of a sealed file, or nil when the header or checksum does not match.
    static func body(_ raw: UnsafeRawBufferPointer, magic: [UInt8], version: UInt32) -> UnsafeRawBufferPointer? {
        guard raw.count >= headerSize, raw.prefix(8).elementsEqual(magic.prefix(8)) else { return nil }
        var c = BinaryCursor(raw)
        c.at = 8
        guard c.u32() == version, c.u32() == 0, let length = c.u64(), Int(exactly: length) == raw.count - headerSize,
              let sum = c.u64() else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: raw[headerSize...])
        return checksum(body) == sum ? body : nil
    }

    /// Writes atomically (`CacheDirectory.write`). A cache, so callers may ignore failures (false).
    @discardableResult
    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        CacheDirectory.write(bytes, to: path)
    }

    /// The same for a file given in pieces, written one after the other (no buffer of the whole).
    @discardableResult
    static func write(pieces: [UnsafeRawBufferPointer], to path: String) -> Bool {
        CacheDirectory.write(pieces: pieces, to: path)
    }

    /// Seals the body given in pieces (`header(pieces:)`) and writes it atomically; the body's
    /// checksum, or nil if nothing was written.
    static func writeSealed(pieces: [UnsafeRawBufferPointer], magic: [UInt8], version: UInt32, to path: String) -> UInt64? {
        let (header, checksum) = header(pieces: pieces, magic: magic, version: version)
        return header.withUnsafeBytes { write(pieces: [$0] + pieces, to: path) } ? checksum : nil
    }
}

/// A file mapped read-only (MAP_PRIVATE): pages are read on first touch, so what a start does not
/// look at is never read. Unmapped when the last reference goes.
final class MappedFile: @unchecked Sendable {
    // Sendable: the mapping is read-only and never changes after init.
    let bytes: UnsafeRawBufferPointer

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

struct BinaryWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    /// u32 length + UTF-8.
    mutating func string(_ s: String) { u32(UInt32(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    mutating func stamp(_ s: FileStamp) {
        u64(s.dev); u64(s.ino); u32(s.mode); i64(s.size); i64(s.mtimeNs); i64(s.ctimeNs)
    }
    static let stampSize = 44
}

/// Bounds-checked little-endian reads: nil past the end, never a trap.
struct BinaryCursor {
    let raw: UnsafeRawBufferPointer
    var at = 0
    init(_ raw: UnsafeRawBufferPointer, at: Int = 0) { self.raw = raw; self.at = at }
    var remaining: Int { raw.count - at }

    mutating func u8() -> UInt8? {
        guard at < raw.count else { return nil }
        defer { at += 1 }
        return raw[at]
    }
    mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { at += 4 }
        return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }
    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        defer { at += 8 }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    mutating func i64() -> Int64? { u64().map { Int64(bitPattern: $0) } }
    mutating func string() -> String? {
        guard let n = u32(), Int(n) <= remaining else { return nil }
        defer { at += Int(n) }
        return String(validating: UnsafeRawBufferPointer(rebasing: raw[at..<(at + Int(n))]), as: UTF8.self)
    }
    mutating func stamp() -> FileStamp? {
        guard remaining >= BinaryWriter.stampSize, let dev = u64(), let ino = u64(), let mode = u32(), let size = i64(),
              let mt = i64(), let ct = i64() else { return nil }
        return FileStamp(dev: dev, ino: ino, mode: mode, size: size, mtimeNs: mt, ctimeNs: ct)
    }
    /// Moves to `offset` if it is inside the buffer.
    mutating func seek(_ offset: Int) -> Bool {
        guard offset >= 0, offset <= raw.count else { return false }
        at = offset
        return true
    }
}
