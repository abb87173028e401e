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

    /// `fields` must already be lower-cased.
    public func matches(_ fields: [String]) -> Bool {
        for t in positive where !fields.contains(where: { $0.contains(t) }) { return false }
        for t in negative where fields.contains(where: { $0.contains(t) }) { return false }
        return true
    }

    /// Like `matches`, on all fields joined by newlines (a term never contains one).
    public func matches(joined: String) -> Bool {
        for t in positive where !joined.contains(t) { return false }
        for t in negative where joined.contains(t) { return false }
        return true
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
