#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk form of `VarsStatusIndex`: a compact binary file, little-endian.
///
///     header   "FLTVARIX" · version u32 · 0 u32 · body length u64 · checksum of the body u64
///     body     clan directory (string) · string table · entries
///     string   u32 length + UTF-8 bytes; everything else refers to the table by u32 index
///     entry    path · dev u64 · ino u64 · mode u32 · size i64 · mtime ns i64 · ctime ns i64 · kind u8 · payload
///     payload  key list (u32 count, per key kind u8 + string) · string · links (u32 count, name + target)
///              · names (u32 count, strings) · bytes (u32 length + raw bytes)
///
/// Header, checksum and the atomic write are `BinaryCacheFile`'s. Every read is bounds-checked: a file that is short, of another version, another clan directory
/// or fails its checksum reads as nil (no index), never as wrong facts and never as a crash.
enum VarsIndexFile {
    static let magic = Array("FLTVARIX".utf8)
    /// 2: public values' bytes (`bytes`).
    static let version: UInt32 = 2

    private enum Kind: UInt8 { case recipients = 1, unreadable, text, keys, links, names, bytes }

    // MARK: write

    static func encode(_ table: [String: StampedFact], clanDirectory: String) -> [UInt8] {
        var strings: [String] = []
        var ids: [String: UInt32] = [:]
        ids.reserveCapacity(table.count * 2)
        func id(_ s: String) -> UInt32 {
            if let i = ids[s] { return i }
            let i = UInt32(strings.count)
            strings.append(s)
            ids[s] = i
            return i
        }
        var entries: [UInt8] = []
        entries.reserveCapacity(table.count * 80)
        func u8(_ v: UInt8) { entries.append(v) }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { entries.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { entries.append(contentsOf: $0) } }
        func keyList(_ keys: [SopsKeyRef]) {
            u32(UInt32(keys.count))
            for k in keys { u8(k.kind == .age ? 0 : 1); u32(id(k.publicKey)) }
        }
        for (path, e) in table {
            u32(id(path))
            u64(e.stamp.dev); u64(e.stamp.ino); u32(e.stamp.mode)
            u64(UInt64(bitPattern: e.stamp.size)); u64(UInt64(bitPattern: e.stamp.mtimeNs)); u64(UInt64(bitPattern: e.stamp.ctimeNs))
            switch e.fact {
            case .recipients(let k): u8(Kind.recipients.rawValue); keyList(k)
            case .keys(let k): u8(Kind.keys.rawValue); keyList(k)
            case .unreadable(let t): u8(Kind.unreadable.rawValue); u32(id(t))
            case .text(let t): u8(Kind.text.rawValue); u32(id(t))
            case .links(let l):
                u8(Kind.links.rawValue); u32(UInt32(l.count))
                for x in l { u32(id(x.name)); u32(id(x.target)) }
            case .names(let n):
                u8(Kind.names.rawValue); u32(UInt32(n.count))
                for x in n { u32(id(x)) }
            case .bytes(let b):
                u8(Kind.bytes.rawValue); u32(UInt32(b.count))
                entries.append(contentsOf: b)
            }
        }
        var body: [UInt8] = []
        body.reserveCapacity(entries.count + strings.count * 40)
        func str(_ s: String) {
            withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian) { body.append(contentsOf: $0) }
            body.append(contentsOf: s.utf8)
        }
        str(clanDirectory)
        withUnsafeBytes(of: UInt32(strings.count).littleEndian) { body.append(contentsOf: $0) }
        for s in strings { str(s) }
        withUnsafeBytes(of: UInt32(table.count).littleEndian) { body.append(contentsOf: $0) }
        body.append(contentsOf: entries)

        return BinaryCacheFile.seal(body, magic: magic, version: version)
    }

    /// Writes atomically (a temp sibling renamed over the target); a cache, so failures are ignored.
    static func write(_ table: [String: StampedFact], to path: String, clanDirectory: String) {
        BinaryCacheFile.write(encode(table, clanDirectory: clanDirectory), to: path)
    }

    // MARK: read

    static func read(_ path: String, clanDirectory: String) -> [String: StampedFact]? {
        guard let bytes = FileBytes.read(path) else { return nil }
        return decode(bytes, clanDirectory: clanDirectory)
    }

    static func decode(_ bytes: [UInt8], clanDirectory: String) -> [String: StampedFact]? {
        bytes.withUnsafeBytes { file -> [String: StampedFact]? in
            guard let raw = BinaryCacheFile.body(file, magic: magic, version: version) else { return nil }
            var c = Cursor(raw: raw)
            guard c.string() == clanDirectory, let n = c.u32() else { return nil }
            var strings: [String] = []
            strings.reserveCapacity(Int(n))
            for _ in 0..<n { guard let s = c.string() else { return nil }; strings.append(s) }
            func s() -> String? { c.u32().flatMap { Int($0) < strings.count ? strings[Int($0)] : nil } }
            func keyList() -> [SopsKeyRef]? {
                guard let k = c.u32(), Int(k) <= c.remaining / 5 else { return nil }
                var out: [SopsKeyRef] = []
                out.reserveCapacity(Int(k))
                for _ in 0..<k {
                    guard let kind = c.u8(), kind <= 1, let pk = s() else { return nil }
                    out.append(SopsKeyRef(pk, kind: kind == 0 ? .age : .pgp))
                }
                return out
            }
            guard let count = c.u32(), Int(count) <= c.remaining / 49 else { return nil }
            var table: [String: StampedFact] = [:]
            table.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let path = s(), let dev = c.u64(), let ino = c.u64(), let mode = c.u32(), let size = c.u64(),
                      let mt = c.u64(), let ct = c.u64(), let raw = c.u8(), let kind = Kind(rawValue: raw) else { return nil }
                let stamp = FileStamp(dev: dev, ino: ino, mode: mode, size: Int64(bitPattern: size),
                                      mtimeNs: Int64(bitPattern: mt), ctimeNs: Int64(bitPattern: ct))
                let fact: VarsFact
                switch kind {
                case .recipients: guard let k = keyList() else { return nil }; fact = .recipients(k)
                case .keys: guard let k = keyList() else { return nil }; fact = .keys(k)
                case .unreadable: guard let t = s() else { return nil }; fact = .unreadable(t)
                case .text: guard let t = s() else { return nil }; fact = .text(t)
                case .links:
                    guard let k = c.u32(), Int(k) <= c.remaining / 8 else { return nil }
                    var l: [VarsLink] = []
                    l.reserveCapacity(Int(k))
                    for _ in 0..<k { guard let a = s(), let b = s() else { return nil }; l.append(VarsLink(name: a, target: b)) }
                    fact = .links(l)
                case .names:
                    guard let k = c.u32(), Int(k) <= c.remaining / 4 else { return nil }
                    var l: [String] = []
                    l.reserveCapacity(Int(k))
                    for _ in 0..<k { guard let a = s() else { return nil }; l.append(a) }
                    fact = .names(l)
                case .bytes:
                    guard let b = c.bytes() else { return nil }
                    fact = .bytes(b)
                }
                table[path] = StampedFact(stamp: stamp, fact: fact)
            }
            return c.remaining == 0 ? table : nil
        }
    }

    private struct Cursor {
        let raw: UnsafeRawBufferPointer
        var at = 0
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
        mutating func bytes() -> [UInt8]? {
            guard let n = u32(), Int(n) <= remaining else { return nil }
            defer { at += Int(n) }
            return Array(UnsafeRawBufferPointer(rebasing: raw[at..<(at + Int(n))]))
        }
        mutating func string() -> String? {
            guard let n = u32(), Int(n) <= remaining else { return nil }
            defer { at += Int(n) }
            return String(validating: UnsafeRawBufferPointer(rebasing: raw[at..<(at + Int(n))]), as: UTF8.self)
        }
    }

    // MARK: checksum

    /// A 64-bit multiply-rotate hash over 8-byte words: catches truncation and bit rot, not an adversary
    /// (the cache directory is the user's own).
    static func checksum(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { checksum($0) } }

    static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(raw.count)
        var i = 0
        while i + 8 <= raw.count {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h = ((h ^ w) &* 0x9E37_79B9_7F4A_7C15)
            h = (h << 31) | (h >> 33)
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < raw.count { tail |= UInt64(raw[i]) << shift; shift += 8; i += 1 }
        h = ((h ^ tail) &* 0x9E37_79B9_7F4A_7C15)
        return h ^ (h >> 29)
    }
}
