/// The byte-level scanner behind `JSONDocument` and `JSONParser`: validates RFC 8259 and records a
/// tape entry per value and key. Works on an unsafe pointer over the text (no bounds-checked array
/// access, no per-string buffers); a string's bytes are only copied when it is materialised. The
/// checks, their order and the error positions are those of the recursive parser it replaced
/// (JSONParserTests compare both on the fixtures and the fuzz corpus).
struct JSONScanner {
    private let p: UnsafePointer<UInt8>
    private let n: Int
    private var pos = 0
    private var depth = 0
    private var tape: [JSONDocument.Entry] = []

    static func scan(_ bytes: [UInt8]) throws -> [JSONDocument.Entry] {
        guard bytes.count < Int(UInt32.max) else {
            throw JSONSyntaxError(line: 1, column: 1, message: "document larger than 4 GiB")
        }
        return try bytes.withUnsafeBufferPointer { buf in
            // An empty array has no base address; any valid pointer will do for zero bytes.
            let empty: [UInt8] = [0]
            return try empty.withUnsafeBufferPointer { e in
                var s = JSONScanner(p: buf.baseAddress ?? e.baseAddress!, n: buf.count)
                // Roughly one entry per 12 bytes of a pretty-printed inventory.
                s.tape.reserveCapacity(buf.count / 12 + 4)
                s.skipWhitespace()
                // A UTF-8 byte order mark is tolerated, as Python's json module does not but editors write it.
                if s.n >= 3, s.p[0] == 0xEF, s.p[1] == 0xBB, s.p[2] == 0xBF { s.pos = 3 }
                try s.value()
                s.skipWhitespace()
                guard s.pos == s.n else { throw s.error("unexpected text after the JSON value") }
                return s.tape
            }
        }
    }

    private init(p: UnsafePointer<UInt8>, n: Int) {
        self.p = p
        self.n = n
    }

    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1, col = 1
        for i in 0..<min(pos, n) {
            let b = p[i]
            if b == UInt8(ascii: "\n") { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 }
        }
        return JSONSyntaxError(line: line, column: col, message: message)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < n {
            switch p[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func emit(_ kind: JSONDocument.Kind, _ a: Int = 0, _ b: Int = 0, escaped: Bool = false) {
        tape.append(JSONDocument.Entry(kind: kind, escaped: escaped, a: UInt32(truncatingIfNeeded: a), b: UInt32(truncatingIfNeeded: b)))
    }

    private mutating func value() throws {
        skipWhitespace()
        guard pos < n else { throw error("unexpected end of input") }
        switch p[pos] {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true"); emit(.true)
        case UInt8(ascii: "f"): try literal("false"); emit(.false)
        case UInt8(ascii: "n"): try literal("null"); emit(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(p[pos])))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let w = word.utf8Start, k = word.utf8CodeUnitCount
        var ok = n - pos >= k
        if ok { for i in 0..<k where p[pos + i] != w[i] { ok = false; break } }
        guard ok else { throw error("invalid literal, expected \(word)") }
        pos += k
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
    }

    /// Appends a container entry now and fills in its count and end when it closes.
    private mutating func close(_ at: Int, count: Int) {
        tape[at].a = UInt32(truncatingIfNeeded: count)
        tape[at].b = UInt32(truncatingIfNeeded: tape.count)
    }

    private mutating func object() throws {
        try enter(); defer { depth -= 1 }
        let at = tape.count
        emit(.object)
        pos += 1
        var count = 0
        skipWhitespace()
        if pos < n, p[pos] == UInt8(ascii: "}") { pos += 1; close(at, count: 0); return }
        while true {
            skipWhitespace()
            guard pos < n, p[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            try string()
            skipWhitespace()
            guard pos < n, p[pos] == UInt8(ascii: ":") else { throw error("expected ':' after key") }
            pos += 1
            try value()
            count += 1
            skipWhitespace()
            guard pos < n else { throw error("unterminated object") }
            if p[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if p[pos] == UInt8(ascii: "}") { pos += 1; close(at, count: count); return }
            throw error("expected ',' or '}' in object")
        }
    }

    private mutating func array() throws {
        try enter(); defer { depth -= 1 }
        let at = tape.count
        emit(.array)
        pos += 1
        var count = 0
        skipWhitespace()
        if pos < n, p[pos] == UInt8(ascii: "]") { pos += 1; close(at, count: 0); return }
        while true {
            try value()
            count += 1
            skipWhitespace()
            guard pos < n else { throw error("unterminated array") }
            if p[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if p[pos] == UInt8(ascii: "]") { pos += 1; close(at, count: count); return }
            throw error("expected ',' or ']' in array")
        }
    }

    private mutating func number() throws {
        let start = pos
        if p[pos] == UInt8(ascii: "-") { pos += 1 }
        @inline(__always) func digits() -> Int {
            let s = pos
            while pos < n, p[pos] &- UInt8(ascii: "0") < 10 { pos += 1 }
            return pos - s
        }
        guard pos < n else { throw error("invalid number") }
        if p[pos] == UInt8(ascii: "0") { pos += 1 } else if digits() == 0 { throw error("invalid number") }
        if pos < n, p[pos] == UInt8(ascii: ".") {
            pos += 1
            if digits() == 0 { throw error("invalid number: digits expected after '.'") }
        }
        if pos < n, p[pos] == UInt8(ascii: "e") || p[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < n, p[pos] == UInt8(ascii: "+") || p[pos] == UInt8(ascii: "-") { pos += 1 }
            if digits() == 0 { throw error("invalid number: digits expected in exponent") }
        }
        emit(.number, start, pos)
    }

    private mutating func hex4() throws -> UInt32 {
        guard n - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = Self.hexDigit(p[pos]) else { throw error("invalid hex digit in \\u escape") }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    @inline(__always)
    static func hexDigit(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Records the string's byte range; escapes are checked here and decoded only on materialisation.
    private mutating func string() throws {
        pos += 1
        let start = pos
        var high: UInt8 = 0
        var escaped = false
        while true {
            // The common case: a run of plain bytes.
            while pos < n {
                let b = p[pos]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                high |= b
                pos += 1
            }
            guard pos < n else { throw error("unterminated string") }
            let b = p[pos]
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw error("control character in string") }
            escaped = true
            pos += 1
            guard pos < n else { throw error("unterminated escape") }
            let e = p[pos]; pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard n - pos >= 6, p[pos] == UInt8(ascii: "\\"), p[pos + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate") }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in \\u escape")
                }
            default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        let end = pos
        pos += 1
        if high >= 0x80 {
            let raw = UnsafeBufferPointer(start: p + start, count: end - start)
            let valid = escaped ? Self.isValidUTF8(Self.unescape(raw)) : Self.isValidUTF8(raw)
            guard valid else { throw error("invalid UTF-8 in string") }
        }
        emit(.string, start, end, escaped: escaped)
    }

    /// Decodes the escapes of string content the scanner accepted.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexDigit(raw[at + $1]) ?? 0) }
        }
        while i < raw.count {
            let b = raw[i]
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }

    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    static func isValidUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        // Unicode Standard table 3-7 (well-formed UTF-8 byte sequences), which Swift's
        // String(validating:) also implements.
        while let b0 = it.next() {
            if b0 < 0x80 { continue }
            let (count, lo, hi): (Int, UInt8, UInt8)
            switch b0 {
            case 0xC2...0xDF: (count, lo, hi) = (1, 0x80, 0xBF)
            case 0xE0: (count, lo, hi) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (count, lo, hi) = (2, 0x80, 0xBF)
            case 0xED: (count, lo, hi) = (2, 0x80, 0x9F)
            case 0xF0: (count, lo, hi) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (count, lo, hi) = (3, 0x80, 0xBF)
            case 0xF4: (count, lo, hi) = (3, 0x80, 0x8F)
            default: return false
            }
            guard let b1 = it.next(), b1 >= lo, b1 <= hi else { return false }
            for _ in 1..<count {
                guard let b = it.next(), b & 0xC0 == 0x80 else { return false }
            }
        }
        return true
    }
}
