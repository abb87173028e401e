#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk form of `VarsStatusIndex`: a compact binary file, little-endian, memory-mapped and read
/// lazily (`VarsIndexView`): a run looks up the paths it stats in a hash table inside the file and
/// decodes a fact only when its stamp matches — no table of Swift strings is built, nor freed.
///
///     header   "FLTVARIX" · version u32 · 0 u32 · body length u64 · checksum of the body u64 (`BinaryCacheFile`)
///     body     clan directory (string: u32 length + UTF-8)
///              · entry count u32 · slot count u32 (a power of two, at least twice the entries)
///              · string count u32 · string ends u32 × count · string bytes (u32 length + bytes)
///              · path bytes (u32 length + bytes)
///              · slots u64 × slot count: 0 empty, else entry number + 1 (low 32 bits) and the path's tag (high
///                32 bits: the high half of the path's hash), linear probing from the path's home slot
///              · entries, 60 bytes each, sorted by path bytes: path (offset u32 · length u32 in the path bytes) ·
///                stamp (dev u64 · ino u64 · mode u32 · size i64 · mtime ns i64 · ctime ns i64) · kind u8 ·
///                3 zero bytes · payload offset u32
///              · payloads (u32 length + bytes)
///     payload  recipients, keys: u32 count, per key u8 kind (0 age, 1 pgp) + string · unreadable, text: string
///              · links: u32 count, per link name + target strings · names: u32 count + strings
///              · bytes: u32 length + raw bytes. Strings are u32 indexes into the string table. Equal payloads
///              are stored once (10k machines' secrets share ~10k recipient lists), so a reader decodes each once.
///
/// Locality (a warm status looks up ~500k paths in a file of ~40 MB; in a VM a random access to a cold
/// page costs far more than the compare): a path's home slot hashes only its first four components
/// (`home`), so a generator's paths (`vars/per-machine/<m>/<g>/…`, present or absent) probe one
/// stretch of slots, one or two cache lines; the tag rejects other paths there without touching their
/// entries; entries and path bytes are in path order, so a status walking machines and generators in
/// order reads them front to back.
///
/// Every read is bounds-checked: a file that is short, of another version, another clan directory,
/// fails its checksum or its layout reads as no index, never as wrong facts and never as a crash.
enum VarsIndexFile {
    static let magic = Array("FLTVARIX".utf8)
    /// 2: public values' bytes (`bytes`). 3: memory-mapped layout with a hash table and shared payloads.
    /// 4: home slots per first four path components, tagged 64-bit slots, entries in path order.
    /// 5: a group's member links reached through a secret's `groups/<g>` link resolved from the
    /// group's folder, as clan does (`VarsFactReader.realGroupFolder`); 4's targets there were wrong.
    static let version: UInt32 = 5
    static let entrySize = 60

    enum Kind: UInt8 { case recipients = 1, unreadable, text, keys, links, names, bytes }

    // MARK: write

    /// The sealed file in one buffer (tests; `write` writes the same bytes from the parts).
    static func encode(_ table: [String: StampedFact], clanDirectory: String) -> [UInt8] {
        body(table.map { ($0.key, $0.value) }, clanDirectory: clanDirectory).withPieces { pieces in
            let (header, _) = BinaryCacheFile.header(pieces: pieces, magic: magic, version: version)
            return pieces.reduce(into: header) { $0.append(contentsOf: $1) }
        }
    }

    /// The body's sections, in file order, as they were built (never copied into one buffer).
    struct Body {
        var parts: [[UInt8]]
        /// Entries written (distinct paths).
        var entryCount = 0

        init(clanDirectory: String, entryCount: Int, ends: [UInt32], stringBytes: [UInt8], paths: [UInt8],
             slots: [UInt64], entries: [UInt8], payloads: [UInt8]) {
            func le(_ values: [UInt32]) -> [UInt8] {
                var w = BinaryWriter()
                w.bytes.reserveCapacity(values.count * 4)
                for v in values { w.u32(v) }
                return w.bytes
            }
            var head = BinaryWriter()
            head.string(clanDirectory)
            head.u32(UInt32(entryCount)); head.u32(UInt32(slots.count)); head.u32(UInt32(ends.count))
            func length(_ b: [UInt8]) -> [UInt8] { var w = BinaryWriter(); w.u32(UInt32(b.count)); return w.bytes }
            func le64(_ values: [UInt64]) -> [UInt8] {
                var w = BinaryWriter()
                w.bytes.reserveCapacity(values.count * 8)
                for v in values { w.u32(UInt32(truncatingIfNeeded: v)); w.u32(UInt32(truncatingIfNeeded: v >> 32)) }
                return w.bytes
            }
            parts = [head.bytes, le(ends), length(stringBytes), stringBytes, length(paths), paths, le64(slots), entries,
                     length(payloads), payloads]
            self.entryCount = entryCount
        }

        func withPieces<T>(_ body: ([UnsafeRawBufferPointer]) -> T) -> T {
            func go(_ i: Int, _ acc: [UnsafeRawBufferPointer]) -> T {
                i == parts.count ? body(acc) : parts[i].withUnsafeBytes { go(i + 1, acc + [$0]) }
            }
            return go(0, [])
        }
    }

    /// The body of an index of `entries` (path relative to the clan directory, stamped fact), in any
    /// order; of equal paths the first is kept. Entries are written in the order of their paths' bytes.
    static func body(_ entries: [(path: String, fact: StampedFact)], clanDirectory: String) -> Body {
        let order = sortedByBytes(entries)
        var stringBytes: [UInt8] = []
        var ends: [UInt32] = []
        var ids: [String: UInt32] = [:]
        func id(_ s: String) -> UInt32 {
            if let i = ids[s] { return i }
            stringBytes.append(contentsOf: s.utf8)
            let i = UInt32(ends.count)
            ends.append(UInt32(stringBytes.count))
            ids[s] = i
            return i
        }
        var payloads = BinaryWriter()
        payloads.bytes.reserveCapacity(order.count * 8)
        var seen: [UInt64: (at: Int, length: Int)] = [:]
        /// The payload written since `start`, or an equal one written before (then this one is dropped).
        func finish(_ start: Int) -> UInt32 {
            let length = payloads.bytes.count - start
            let h = payloads.bytes.withUnsafeBytes { checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            if let old = seen[h] {
                if old.length == length, payloads.bytes[old.at..<(old.at + length)].elementsEqual(payloads.bytes[start...]) {
                    payloads.bytes.removeSubrange(start...)
                    return UInt32(old.at)
                }
            } else {
                seen[h] = (start, length)
            }
            return UInt32(start)
        }
        func keyList(_ keys: [SopsKeyRef]) {
            payloads.u32(UInt32(keys.count))
            for k in keys { payloads.u8(k.kind == .age ? 0 : 1); payloads.u32(id(k.publicKey)) }
        }

        var paths: [UInt8] = []
        paths.reserveCapacity(order.count * 48)
        var table = BinaryWriter()
        table.bytes.reserveCapacity(order.count * entrySize)
        var pathSpans: [(at: Int, length: Int)] = []
        pathSpans.reserveCapacity(order.count)
        for i in order {
            let (path, e) = entries[i]
            let start = payloads.bytes.count
            let kind: Kind
            switch e.fact {
            case .recipients(let k): kind = .recipients; keyList(k)
            case .keys(let k): kind = .keys; keyList(k)
            case .unreadable(let t): kind = .unreadable; payloads.u32(id(t))
            case .text(let t): kind = .text; payloads.u32(id(t))
            case .links(let l):
                kind = .links
                payloads.u32(UInt32(l.count))
                for x in l { payloads.u32(id(x.name)); payloads.u32(id(x.target)) }
            case .names(let n):
                kind = .names
                payloads.u32(UInt32(n.count))
                for x in n { payloads.u32(id(x)) }
            case .bytes(let b):
                kind = .bytes
                payloads.u32(UInt32(b.count))
                payloads.bytes.append(contentsOf: b)
            }
            let payload = finish(start)
            let at = paths.count
            paths.append(contentsOf: path.utf8)
            pathSpans.append((at, paths.count - at))
            table.u32(UInt32(at)); table.u32(UInt32(paths.count - at))
            table.stamp(e.stamp)
            table.u8(kind.rawValue); table.u8(0); table.u8(0); table.u8(0)
            table.u32(payload)
        }

        var slotCount = 2
        while slotCount < order.count * 2 { slotCount *= 2 }
        var slots = [UInt64](repeating: 0, count: slotCount)
        paths.withUnsafeBytes { raw in
            for (i, span) in pathSpans.enumerated() {
                let path = UnsafeRawBufferPointer(rebasing: raw[span.at..<(span.at + span.length)])
                var s = home(path) & (slotCount - 1)
                while slots[s] != 0 { s = (s + 1) & (slotCount - 1) }
                slots[s] = UInt64(tag(path)) << 32 | UInt64(i + 1)
            }
        }

        return Body(clanDirectory: clanDirectory, entryCount: order.count, ends: ends, stringBytes: stringBytes,
                    paths: paths, slots: slots, entries: table.bytes, payloads: payloads.bytes)
    }

    /// The positions of `entries` in the order of their paths' bytes, the first of equal paths only.
    /// Sorts 32-bit positions over one buffer of the paths' bytes (not the entries themselves: moving
    /// a `String` and a `StampedFact` retains and releases), ties by position. A status hands its facts
    /// over in walk order — machines and generators in order —, so the input is mostly sorted runs.
    private static func sortedByBytes(_ entries: [(path: String, fact: StampedFact)]) -> [Int] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 48)
        var spans: [(at: UInt32, length: UInt32)] = []
        spans.reserveCapacity(entries.count)
        for e in entries {
            let at = bytes.count
            bytes.append(contentsOf: e.path.utf8)
            spans.append((UInt32(at), UInt32(bytes.count - at)))
        }
        var order = [UInt32](0..<UInt32(entries.count))
        bytes.withUnsafeBufferPointer { b in
            spans.withUnsafeBufferPointer { s in
                let base = b.baseAddress
                /// memcmp order of the two paths, then the shorter first, then the earlier entry.
                func precedes(_ x: UInt32, _ y: UInt32) -> Bool {
                    let a = s[Int(x)], c = s[Int(y)]
                    let n = Int(min(a.length, c.length))
                    let r = n == 0 ? 0 : memcmp(base! + Int(a.at), base! + Int(c.at), n)
                    if r != 0 { return r < 0 }
                    return a.length != c.length ? a.length < c.length : x < y
                }
                order.sort(by: precedes)
                // Equal paths are adjacent now, the first entry first: keep it.
                var kept = 0
                for k in 0..<order.count {
                    if kept > 0 {
                        let a = s[Int(order[kept - 1])], c = s[Int(order[k])]
                        if a.length == c.length, a.length == 0 || memcmp(base! + Int(a.at), base! + Int(c.at), Int(a.length)) == 0 { continue }
                    }
                    order[kept] = order[k]
                    kept += 1
                }
                order.removeSubrange(kept...)
            }
        }
        return order.map { Int($0) }
    }

    /// A path's home slot (before masking): the hash of its first four components — `vars/per-machine/
    /// <m>/<g>` for a generator's files — or of the whole path when it has fewer.
    static func home(_ path: UnsafeRawBufferPointer) -> Int {
        var slashes = 0, end = path.count
        for i in 0..<path.count where path[i] == UInt8(ascii: "/") {
            slashes += 1
            if slashes == 4 { end = i; break }
        }
        return Int(truncatingIfNeeded: checksum(UnsafeRawBufferPointer(rebasing: path[0..<end])))
    }

    /// A path's tag in its slot: the high half of its hash.
    static func tag(_ path: UnsafeRawBufferPointer) -> UInt32 { UInt32(truncatingIfNeeded: checksum(path) >> 32) }

    /// Writes atomically (a temp sibling renamed over the target); a cache, so failures are ignored.
    /// From the parts (`BinaryCacheFile.writeSealed(pieces:)`): no body or sealed copy in memory.
    static func write(_ table: [String: StampedFact], to path: String, clanDirectory: String) {
        write(table.map { ($0.key, $0.value) }, to: path, clanDirectory: clanDirectory)
    }

    /// `write` of entries in any order (of equal paths the first is kept); the number of entries written.
    @discardableResult
    static func write(_ entries: [(path: String, fact: StampedFact)], to path: String, clanDirectory: String) -> Int {
        let body = body(entries, clanDirectory: clanDirectory)
        _ = body.withPieces { BinaryCacheFile.writeSealed(pieces: $0, magic: magic, version: version, to: path) }
        return body.entryCount
    }

    // MARK: read

    /// The index at `path` for `clanDirectory`, mapped; nil when absent or unusable.
    static func open(_ path: String, clanDirectory: String) -> VarsIndexView? {
        guard let file = MappedFile(path: path) else { return nil }
        return VarsIndexView(file: file, clanDirectory: clanDirectory)
    }

    /// Every entry of an encoded index (tests, and a rewrite after changes); nil when unusable.
    static func decode(_ bytes: [UInt8], clanDirectory: String) -> [String: StampedFact]? {
        guard let view = VarsIndexView(bytes: bytes, clanDirectory: clanDirectory) else { return nil }
        return view.all()
    }

    // MARK: checksum

    /// `BinaryCacheFile.checksum`: the body's checksum is also the index's path hash (home slots, tags).
    static func checksum(_ bytes: [UInt8]) -> UInt64 { BinaryCacheFile.checksum(bytes) }

    static func checksum(_ raw: UnsafeRawBufferPointer) -> UInt64 { BinaryCacheFile.checksum(raw) }
}

/// A vars index file opened for one run: read-only, shared by the run's threads. Lookups hash the
/// path's bytes into the file's table; facts are decoded on demand (`fact(kind:payload:)`). The
/// layout is checked when it opens, so lookups only read inside the sections it found.
final class VarsIndexView: @unchecked Sendable {
    // Sendable: the mapping (or the byte copy) is never written after init.
    private let file: MappedFile?
    private let copy: UnsafeMutableRawBufferPointer?
    private let body: UnsafeRawBufferPointer
    let count: Int
    private let slotMask: Int
    private let endsAt: Int, stringCount: Int, stringsAt: Int, stringsLength: Int
    private let pathsAt: Int, pathsLength: Int, slotsAt: Int, entriesAt: Int, payloadsAt: Int, payloadsLength: Int

    convenience init?(file: MappedFile, clanDirectory: String) {
        self.init(file: file, copy: nil, raw: file.bytes, clanDirectory: clanDirectory)
    }

    convenience init?(bytes: [UInt8], clanDirectory: String) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        bytes.withUnsafeBytes { if $0.count > 0 { copy.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        self.init(file: nil, copy: copy, raw: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy)[0..<bytes.count]),
                  clanDirectory: clanDirectory)
    }

    private init?(file: MappedFile?, copy: UnsafeMutableRawBufferPointer?, raw: UnsafeRawBufferPointer, clanDirectory: String) {
        self.file = file
        self.copy = copy
        guard let body = BinaryCacheFile.body(raw, magic: VarsIndexFile.magic, version: VarsIndexFile.version) else {
            copy?.deallocate()
            return nil
        }
        var c = BinaryCursor(body)
        func section(_ unit: Int, _ n: Int) -> Int? {
            let at = c.at
            return c.seek(at + unit * n) ? at : nil
        }
        guard c.string() == clanDirectory, let n = c.u32(), let slots = c.u32(), slots >= 2, slots & (slots - 1) == 0,
              Int(slots) >= Int(n) * 2, let strings = c.u32(), let endsAt = section(4, Int(strings)),
              let sl = c.u32(), let stringsAt = section(1, Int(sl)), let pl = c.u32(), let pathsAt = section(1, Int(pl)),
              let slotsAt = section(8, Int(slots)), let entriesAt = section(VarsIndexFile.entrySize, Int(n)),
              let yl = c.u32(), let payloadsAt = section(1, Int(yl)), c.remaining == 0 else {
            copy?.deallocate()
            return nil
        }
        self.body = body
        count = Int(n)
        slotMask = Int(slots) - 1
        self.endsAt = endsAt; stringCount = Int(strings); self.stringsAt = stringsAt; stringsLength = Int(sl)
        self.pathsAt = pathsAt; pathsLength = Int(pl); self.slotsAt = slotsAt; self.entriesAt = entriesAt
        self.payloadsAt = payloadsAt; payloadsLength = Int(yl)
    }

    deinit { copy?.deallocate() }

    private func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: body.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    private func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: body.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    /// The entry for `path` (relative to the clan directory), if the index has one.
    func find(_ path: String) -> Int? {
        var path = path
        return path.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    func find(_ key: UnsafeRawBufferPointer) -> Int? {
        guard count > 0, key.count > 0 else { return nil }
        var slot = VarsIndexFile.home(key) & slotMask
        let tag = VarsIndexFile.tag(key)
        for _ in 0...slotMask {
            let v = u64(slotsAt + 8 * slot)
            let e = Int(v & 0xFFFF_FFFF)
            guard e != 0, e <= count else { return nil }
            if UInt32(truncatingIfNeeded: v >> 32) == tag {
                let at = entriesAt + (e - 1) * VarsIndexFile.entrySize
                let po = Int(u32(at)), pl = Int(u32(at + 4))
                if pl == key.count, po <= pathsLength - pl, memcmp(body.baseAddress! + pathsAt + po, key.baseAddress!, pl) == 0 {
                    return e - 1
                }
            }
            slot = (slot + 1) & slotMask
        }
        return nil
    }

    /// Entry `i`'s stamp.
    func stamp(_ i: Int) -> FileStamp {
        let at = entriesAt + i * VarsIndexFile.entrySize + 8
        return FileStamp(dev: u64(at), ino: u64(at + 8), mode: u32(at + 16), size: Int64(bitPattern: u64(at + 20)),
                         mtimeNs: Int64(bitPattern: u64(at + 28)), ctimeNs: Int64(bitPattern: u64(at + 36)))
    }

    /// Entry `i`'s fact kind and payload offset: equal pairs decode to equal facts (a reader's memo key).
    func factKey(_ i: Int) -> UInt64 {
        let at = entriesAt + i * VarsIndexFile.entrySize
        return UInt64(body[at + 52]) << 32 | UInt64(u32(at + 56))
    }

    private func string(_ id: UInt32) -> String? {
        let i = Int(id)
        guard i < stringCount else { return nil }
        let start = i == 0 ? 0 : Int(u32(endsAt + 4 * (i - 1))), end = Int(u32(endsAt + 4 * i))
        guard start <= end, end <= stringsLength else { return nil }
        return String(validating: UnsafeRawBufferPointer(rebasing: body[(stringsAt + start)..<(stringsAt + end)]), as: UTF8.self)
    }

    /// The fact behind a `factKey`; nil when it does not decode (then the file is read again).
    func fact(_ key: UInt64) -> VarsFact? {
        guard let kind = VarsIndexFile.Kind(rawValue: UInt8(truncatingIfNeeded: key >> 32)) else { return nil }
        var c = BinaryCursor(UnsafeRawBufferPointer(rebasing: body[payloadsAt..<(payloadsAt + payloadsLength)]))
        guard c.seek(Int(key & 0xFFFF_FFFF)) else { return nil }
        func s() -> String? { c.u32().flatMap(string) }
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
        switch kind {
        case .recipients: return keyList().map { .recipients($0) }
        case .keys: return keyList().map { .keys($0) }
        case .unreadable: return s().map { .unreadable($0) }
        case .text: return s().map { .text($0) }
        case .links:
            guard let k = c.u32(), Int(k) <= c.remaining / 8 else { return nil }
            var l: [VarsLink] = []
            l.reserveCapacity(Int(k))
            for _ in 0..<k { guard let a = s(), let b = s() else { return nil }; l.append(VarsLink(name: a, target: b)) }
            return .links(l)
        case .names:
            guard let k = c.u32(), Int(k) <= c.remaining / 4 else { return nil }
            var l: [String] = []
            l.reserveCapacity(Int(k))
            for _ in 0..<k { guard let a = s() else { return nil }; l.append(a) }
            return .names(l)
        case .bytes:
            guard let n = c.u32(), Int(n) <= c.remaining else { return nil }
            return .bytes(Array(UnsafeRawBufferPointer(rebasing: c.raw[c.at..<(c.at + Int(n))])))
        }
    }

    /// Entry `i`'s path.
    func path(_ i: Int) -> String? {
        let at = entriesAt + i * VarsIndexFile.entrySize
        let po = Int(u32(at)), pl = Int(u32(at + 4))
        guard po <= pathsLength, pl <= pathsLength - po else { return nil }
        return String(validating: UnsafeRawBufferPointer(rebasing: body[(pathsAt + po)..<(pathsAt + po + pl)]), as: UTF8.self)
    }

    /// Every entry that decodes.
    func all() -> [String: StampedFact] {
        var out: [String: StampedFact] = [:]
        out.reserveCapacity(count)
        forEachEntry { out[$0] = $1 }
        return out
    }

    /// Every entry that decodes, in file order (a rewrite after changes keeps them).
    func forEachEntry(_ body: (String, StampedFact) -> Void) {
        var memo: [UInt64: VarsFact] = [:]
        for i in 0..<count {
            guard let p = path(i) else { continue }
            let key = factKey(i)
            let f: VarsFact
            if let m = memo[key] { f = m } else { guard let d = fact(key) else { continue }; memo[key] = d; f = d }
            body(p, StampedFact(stamp: stamp(i), fact: f))
        }
    }
}
