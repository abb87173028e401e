import Collections

/// A parsed JSON text as a flat tape over its bytes: one 12-byte entry per value and per object key,
/// in document order. Strings and numbers are byte ranges into the text, materialised as `String`
/// only when asked for; containers know their child count and where they end, so a reader skips a
/// whole subtree in O(1). Built by `JSONScanner` in one pass of byte comparisons (no per-character
/// `String`/`Character` work). The inventory decoder reads a 10k-machine `inventory.json` from this
/// directly, without building a `JSONValue` tree first; `JSONParser.parse` materialises the tape
/// into `JSONValue` for everything else.
public struct JSONDocument: Sendable {
    public enum Kind: UInt8, Sendable {
        case null, `false`, `true`, number, string, array, object
    }

    /// One value or key. Strings: `a..<b` is the content between the quotes (escapes not decoded).
    /// Numbers: `a..<b` is the literal. Arrays/objects: `a` = elements (pairs for objects), `b` =
    /// index of the entry after the container's last descendant.
    struct Entry: Sendable, Equatable {
        var kind: Kind
        /// Strings only: the content holds a backslash escape and must be decoded.
        var escaped: Bool
        var a: UInt32
        var b: UInt32
    }

    public let bytes: [UInt8]
    let tape: [Entry]

    /// Parses `bytes` (RFC 8259, a UTF-8 BOM tolerated); errors as `JSONParser` reports them.
    public init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        self.tape = try JSONScanner.scan(bytes)
    }

    /// Index of the root value.
    public var root: Int { 0 }

    public func kind(_ i: Int) -> Kind { tape[i].kind }

    /// Index of the entry after value `i` and everything inside it.
    public func next(_ i: Int) -> Int {
        let e = tape[i]
        return e.kind == .array || e.kind == .object ? Int(e.b) : i + 1
    }

    /// Elements of an array, or pairs of an object.
    public func count(_ i: Int) -> Int { Int(tape[i].a) }

    /// The JSON type name used in error messages ("expected object, found array").
    public func typeName(_ i: Int) -> String {
        switch tape[i].kind {
        case .null: return "null"
        case .false, .true: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Element indices of the array at `i`.
    public func elements(_ i: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(count(i))
        var j = i + 1
        for _ in 0..<count(i) { out.append(j); j = next(j) }
        return out
    }

    /// Calls `body(key, value)` with the tape indices of every pair of the object at `i`, in document
    /// order — duplicates included (see `lastValue(_:forKey:)` / `materialize` for "last one wins").
    public func forEachPair(_ i: Int, _ body: (_ key: Int, _ value: Int) throws -> Void) rethrows {
        var j = i + 1
        for _ in 0..<count(i) {
            try body(j, j + 1)
            j = next(j + 1)
        }
    }

    /// The pairs of the object at `i` with duplicate keys collapsed as `JSONParser` does (position of
    /// the first, value of the last): key → value index.
    public func pairs(_ i: Int) -> OrderedDictionary<String, Int> {
        var out = OrderedDictionary<String, Int>(minimumCapacity: count(i))
        forEachPair(i) { k, v in out[string(k)] = v }
        return out
    }

    /// The value of `key` in the object at `i` (the last one when the key repeats), or nil.
    public func lastValue(_ i: Int, forKey key: StaticString) -> Int? {
        var found: Int?
        forEachPair(i) { k, v in if keyEquals(k, key) { found = v } }
        return found
    }

    /// Does the string at `i` (a key) read `key`? Compares bytes; decodes only escaped strings.
    public func keyEquals(_ i: Int, _ key: StaticString) -> Bool {
        let e = tape[i]
        if e.escaped { return string(i) == key.description }
        let n = Int(e.b - e.a)
        guard n == key.utf8CodeUnitCount else { return false }
        return bytes.withUnsafeBufferPointer { buf in
            memoryEqual(buf.baseAddress! + Int(e.a), key.utf8Start, n)
        }
    }

    /// Raw UTF-8 of a string (escapes not decoded) or number literal.
    public func withRawBytes<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let e = tape[i]
        return try bytes.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[Int(e.a)..<Int(e.b)]))
        }
    }

    /// Calls `body` with the address of the first byte of the text (for `ByteSpanTable`).
    func withBase<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else {
                let one: [UInt8] = [0]
                return try one.withUnsafeBufferPointer { try body($0.baseAddress!) }
            }
            return try body(base)
        }
    }

    /// Byte range of a string's raw content (between the quotes) or of a number literal.
    func span(_ i: Int) -> Range<Int> { Int(tape[i].a)..<Int(tape[i].b) }

    /// Byte range of an array whose elements are all strings (from the first element's opening
    /// quote to the last one's closing quote; empty for `[]`), nil when any element is not a string.
    /// Two such arrays with equal bytes hold equal strings.
    func stringArraySpan(_ i: Int) -> Range<Int>? {
        let e = tape[i]
        guard e.kind == .array else { return nil }
        let n = Int(e.a)
        guard n > 0 else { return 0..<0 }
        // Strings are single entries: n of them end exactly n entries later.
        guard Int(e.b) == i + 1 + n else { return nil }
        for j in i + 1...i + n where tape[j].kind != .string { return nil }
        return Int(tape[i + 1].a) - 1..<Int(tape[i + n].b) + 1
    }

    /// Do the strings (or keys) at `i` and `j` have the same raw bytes?
    func rawEquals(_ i: Int, _ j: Int) -> Bool {
        let a = span(i), b = span(j)
        guard a.count == b.count else { return false }
        return bytes.withUnsafeBufferPointer { buf in memoryEqual(buf.baseAddress! + a.lowerBound, buf.baseAddress! + b.lowerBound, a.count) }
    }

    /// Is the string at `i` free of escapes (its raw bytes are its UTF-8)?
    func isPlainString(_ i: Int) -> Bool { !tape[i].escaped }

    /// The string at `i`, escapes decoded (the scanner validated it).
    public func string(_ i: Int) -> String {
        let e = tape[i]
        return bytes.withUnsafeBufferPointer { buf in
            let raw = UnsafeBufferPointer(rebasing: buf[Int(e.a)..<Int(e.b)])
            if !e.escaped { return String(decoding: raw, as: UTF8.self) }
            return String(decoding: JSONScanner.unescape(raw), as: UTF8.self)
        }
    }

    /// The string at `i`, or nil when it is another kind of value.
    public func stringValue(_ i: Int) -> String? { tape[i].kind == .string ? string(i) : nil }

    /// The number literal at `i` as written.
    public func numberText(_ i: Int) -> String {
        withRawBytes(i) { String(decoding: $0, as: UTF8.self) }
    }

    public func intValue(_ i: Int) -> Int? {
        guard tape[i].kind == .number else { return nil }
        // Plain integers (up to 18 digits) straight from the bytes; anything else as `Int(String)` reads it.
        let r = span(i)
        if r.count <= 18 {
            let plain: Int? = bytes.withUnsafeBufferPointer { buf in
                var k = r.lowerBound, v = 0
                let negative = buf[k] == UInt8(ascii: "-")
                if negative { k += 1 }
                guard k < r.upperBound else { return nil }
                while k < r.upperBound {
                    let d = buf[k] &- UInt8(ascii: "0")
                    guard d < 10 else { return nil }
                    v = v * 10 + Int(d)
                    k += 1
                }
                return negative ? -v : v
            }
            if let plain { return plain }
        }
        return Int(numberText(i))
    }

    public func boolValue(_ i: Int) -> Bool? {
        switch tape[i].kind {
        case .true: return true
        case .false: return false
        default: return nil
        }
    }

    /// The subtree at `i` as a `JSONValue` (duplicate keys: the last one wins at the first one's place).
    public func materialize(_ i: Int) -> JSONValue {
        switch tape[i].kind {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .number: return .number(numberText(i))
        case .string: return .string(string(i))
        case .array:
            var items: [JSONValue] = []
            items.reserveCapacity(count(i))
            var j = i + 1
            for _ in 0..<count(i) { items.append(materialize(j)); j = next(j) }
            return .array(items)
        case .object:
            var dict = OrderedDictionary<String, JSONValue>(minimumCapacity: count(i))
            forEachPair(i) { k, v in dict[string(k)] = materialize(v) }
            return .object(dict)
        }
    }
}

@inline(__always)
private func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
