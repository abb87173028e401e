import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `/` filter: space-separated terms, all must match (case-insensitive substring of any
/// field); a term starting with `!` must match no field.
public struct FilterMatcher: Sendable {
    public let positive: [String]
    public let negative: [String]

    public init(query: String) {
        var p: [String] = [], n: [String] = []
        for raw in query.lowercased().split(separator: " ") {
            if raw.hasPrefix("!") {
                let t = raw.dropFirst()
                if !t.isEmpty { n.append(String(t)) }
            } else {
                p.append(String(raw))
            }
        }
        positive = p
        negative = n
    }

    public var isEmpty: Bool { positive.isEmpty && negative.isEmpty }

    /// Every term is ASCII, non-empty and holds no newline: on ASCII text `contains` is then a byte
    /// search, and a term is in fields joined by newlines exactly when it is in one of them
    /// (`FleetSearchIndex`).
    var termsAreBytewise: Bool {
        (positive + negative).allSatisfy { t in !t.isEmpty && t.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "\n") } }
    }

    /// `fields` must already be lower-cased.
    public func matches(_ fields: [String]) -> Bool {
        for t in positive where !fields.contains(where: { $0.contains(t) }) { return false }
        for t in negative where fields.contains(where: { $0.contains(t) }) { return false }
        return true
    }

    /// Like `matches`, on all fields joined by newlines (a term never contains one).
    public func matches(joined: String) -> Bool {
        for t in positive where !Self.contains(joined, t) { return false }
        for t in negative where Self.contains(joined, t) { return false }
        return true
    }

    /// Substring test. `make bench` found Foundation's `contains` (UTF-16 conversion + CFStringFind)
    /// to be most of a filter keystroke at 10k machines, so ASCII text (names, tags, roles) is searched
    /// bytewise; anything else keeps Foundation's semantics.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        var h = haystack, n = needle
        let fast: Bool? = h.withUTF8 { (hb: UnsafeBufferPointer<UInt8>) -> Bool? in
            n.withUTF8 { (nb: UnsafeBufferPointer<UInt8>) -> Bool? in
                guard !nb.isEmpty, hb.allSatisfy({ $0 < 0x80 }), nb.allSatisfy({ $0 < 0x80 }) else { return nil }
                return contains(UnsafeRawBufferPointer(hb), UnsafeRawBufferPointer(nb))
            }
        }
        return fast ?? haystack.contains(needle)
    }

    /// Whether the bytes of `needle` (not empty) occur in `haystack`.
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        guard needle.count <= haystack.count, let hp = haystack.baseAddress, let np = needle.baseAddress, !needle.isEmpty else { return false }
        let first = needle[0]
        for i in 0...(haystack.count - needle.count) where haystack[i] == first {
            if memcmp(hp + i, np, needle.count) == 0 { return true }
        }
        return false
    }

    /// Column ranges (in characters) of `text` that a positive term matches, for highlighting.
    public func highlights(in text: String) -> [Range<Int>] {
        guard !positive.isEmpty else { return [] }
        let lower = Array(text.lowercased())
        guard lower.count == text.count else { return [] }
        var out: [Range<Int>] = []
        for term in positive {
            let t = Array(term)
            guard !t.isEmpty, t.count <= lower.count else { continue }
            var i = 0
            while i + t.count <= lower.count {
                if Array(lower[i..<i + t.count]) == t {
                    out.append(i..<i + t.count)
                    i += t.count
                } else {
                    i += 1
                }
            }
        }
        return out
    }
}
