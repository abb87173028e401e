#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Values found again by the bytes they were made from: a hash table keyed by byte ranges of one
/// document (`JSONDocument.bytes`) plus a 64-bit salt, for the inventory reader's repeated values —
/// 10k machines carry a few hundred distinct tag lists and descriptions. Looking a value up hashes
/// and compares raw bytes; no `String` is built and Swift's SipHash `Hasher` is not involved, which
/// made interning by `String` a tenth of the 10k-machine load (docs/PERFORMANCE.md, perf-cold).
/// Every range must point into the same buffer, which must outlive the table.
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
    private var slots = [Int32](repeating: 0, count: 64)

    /// The value stored for `base[start..<start+count]` and `salt`, made by `make` the first time.
    mutating func value(_ base: UnsafePointer<UInt8>, start: Int, count: Int, salt: UInt64 = 0,
                        make: () throws -> Value) rethrows -> Value {
        let h = Self.hash(base + start, count, salt: salt)
        var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[slot] != 0 {
            let e = entries[Int(slots[slot]) - 1]
            if e.hash == h, e.count == count, e.salt == salt, memcmp(base + e.start, base + start, count) == 0 { return e.value }
            slot = (slot + 1) & (slots.count - 1)
        }
        let v = try make()
        entries.append(Entry(hash: h, start: start, count: count, salt: salt, value: v))
        slots[slot] = Int32(entries.count)
        if entries.count * 2 > slots.count { grow() }
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
