#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Values found again by the bytes they were made from: a hash table keyed by byte ranges plus a
/// 64-bit salt. Looking a value up hashes and compares raw bytes; no `String` is built and Swift's
/// SipHash `Hasher` is not involved, which made interning by `String` a tenth of the 10k-machine load
/// (docs/PERFORMANCE.md, perf-cold). Two uses:
/// - ranges of one document (`JSONDocument.bytes`), for the inventory reader's repeated values —
///   10k machines carry a few hundred distinct tag lists and descriptions (`value(_:start:count:salt:make:)`;
///   every range must point into the same buffer, which must outlive the table);
/// - byte strings kept in a buffer the caller owns, each once, numbered in order of first use
///   (`index(of:appendingTo:)`: the resolved-fleet cache's string table, `FleetCacheFile`).
struct ByteSpanTable<Value> {
    private struct Entry {
        var hash: UInt64
        var start: Int
        var count: Int
        var salt: UInt64
        var value: Value
    }

    private var entries: [Entry] = []
    /// Open addressing, linear probing: entry index + 1, 0 = empty.
    private var slots: [Int32]

    /// A table expected to hold about `capacity` entries before it first grows.
    init(capacity: Int = 32) {
        var n = 64
        while n < capacity * 2 { n *= 2 }
        slots = [Int32](repeating: 0, count: n)
    }

    var count: Int { entries.count }

    /// Each entry's range, in order of first use.
    func forEachSpan(_ body: (_ start: Int, _ count: Int) -> Void) {
        for e in entries { body(e.start, e.count) }
    }

    /// The entry holding `key`'s `count` bytes and `salt` (stored entries' bytes at `stored` + their
    /// start), or the empty slot where it goes.
    private func find(_ key: UnsafePointer<UInt8>, _ count: Int, salt: UInt64, hash h: UInt64,
                      stored: UnsafePointer<UInt8>) -> (entry: Int?, slot: Int) {
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[slot] != 0 {
            let i = Int(slots[slot]) - 1
            let e = entries[i]
            if e.hash == h, e.count == count, e.salt == salt, memcmp(stored + e.start, key, count) == 0 { return (i, slot) }
            slot = (slot + 1) & (slots.count - 1)
        }
        return (nil, slot)
    }

    private mutating func insert(_ e: Entry, at slot: Int) {
        entries.append(e)
        slots[slot] = Int32(entries.count)
        if entries.count * 2 > slots.count { grow() }
    }

    /// The value stored for `base[start..<start+count]` and `salt`, made by `make` the first time.
    mutating func value(_ base: UnsafePointer<UInt8>, start: Int, count: Int, salt: UInt64 = 0,
                        make: () throws -> Value) rethrows -> Value {
        let h = Self.hash(base + start, count, salt: salt)
        let (found, slot) = find(base + start, count, salt: salt, hash: h, stored: base)
        if let found { return entries[found].value }
        let v = try make()
        insert(Entry(hash: h, start: start, count: count, salt: salt, value: v), at: slot)
        return v
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        for (i, e) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: e.hash) & (slots.count - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = Int32(i + 1)
        }
    }

    /// Eight bytes at a time, multiply and fold (the table only needs a good spread, not SipHash's
    /// resistance to chosen keys: a colliding inventory costs probes, never a wrong value).
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int, salt: UInt64) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = (salt ^ UInt64(n)) &* k
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n { tail |= UInt64(p[i]) << shift; shift += 8; i += 1 }
        h = (h ^ tail) &* k
        return h ^ (h >> 32)
    }
}

extension ByteSpanTable where Value == Void {
    /// The number of `key`'s bytes among the byte strings kept in `blob`: found again by their bytes,
    /// or appended to `blob` and numbered next.
    mutating func index(of key: UnsafeRawBufferPointer, appendingTo blob: inout [UInt8]) -> Int {
        let n = key.count
        // Zero bytes have no address; any will do.
        let one: UInt8 = 0
        return withUnsafePointer(to: one) { dummy in
            let p = key.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? dummy
            let h = Self.hash(p, n, salt: 0)
            let (found, slot) = blob.withUnsafeBufferPointer { stored in
                find(p, n, salt: 0, hash: h, stored: stored.baseAddress ?? dummy)
            }
            if let found { return found }
            let start = blob.count
            blob.append(contentsOf: key)
            insert(Entry(hash: h, start: start, count: n, salt: 0, value: ()), at: slot)
            return entries.count - 1
        }
    }
}
