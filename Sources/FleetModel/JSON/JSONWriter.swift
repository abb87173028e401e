/// Serialises `JSONValue` in the spellings the tools we mirror produce.
public struct JSONWriter: Sendable {
    /// Indentation per level; nil writes compact JSON on one line.
    public var indent: String?
    /// Escape every non-ASCII character as `\uXXXX` (Python's `json.dump` default, which clan uses).
    public var ensureASCII: Bool
    /// Separator after a key; Python writes ": ", Go's encoder ":" in compact mode.
    public var keySeparator: String
    public var sortKeys: Bool
    /// Go's encoder escapes <, > and & as \u003c etc. (sops output); Python does not.
    public var escapeHTML: Bool

    public init(indent: String? = nil, ensureASCII: Bool = false, keySeparator: String = ": ",
                sortKeys: Bool = false, escapeHTML: Bool = false) {
        self.indent = indent
        self.ensureASCII = ensureASCII
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
        self.escapeHTML = escapeHTML
    }

    /// `json.dump(obj, indent=2)` as clan writes `inventory.json`.
    public static let python2 = JSONWriter(indent: "  ", ensureASCII: true)
    /// Compact, one line — for `--json` output.
    public static let compact = JSONWriter(indent: nil, keySeparator: ":")

    public func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The UTF-8 text. Written into a byte buffer: appending to a `String` piece by piece was a
    /// quarter of `fleet list --json` at 10k machines (make bench, docs/PERFORMANCE.md).
    public func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, level: 0, into: &out)
        return out
    }

    private func write(_ value: JSONValue, level: Int, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1, into: &out)
                write(item, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out.append(UInt8(ascii: "]"))
        case .object(let dict):
            if sortKeys {
                writeObject(dict.keys.sorted().map { (key: $0, value: dict[$0]!) }, level: level, into: &out)
            } else {
                writeObject(dict.elements, level: level, into: &out)
            }
        }
    }

    /// Members in the order given (no lookup per key: that hashing was a tenth of the writer).
    private func writeObject<C: Collection>(_ members: C, level: Int, into out: inout [UInt8]) where C.Element == (key: String, value: JSONValue) {
        if members.isEmpty { out.append(contentsOf: "{}".utf8); return }
        out.append(UInt8(ascii: "{"))
        let separator = (indent == nil ? keySeparator.trimmingSpaces : keySeparator).utf8
        var first = true
        for (key, value) in members {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            newline(level + 1, into: &out)
            writeString(key, into: &out)
            out.append(contentsOf: separator)
            write(value, level: level + 1, into: &out)
        }
        newline(level, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Appends an array of objects given as ordered members, written exactly as
    /// `bytes(.array(objects.map { .object(OrderedDictionary(uniqueKeysWithValues: $0)) }))` writes
    /// them — without building the tree (`fleet list --json` at 10k machines: 10k dictionaries).
    /// Keys must be unique within an object.
    public func appendObjectArray<S: Sequence>(_ objects: S, into out: inout [UInt8]) where S.Element == [(key: String, value: JSONValue)] {
        var any = false
        for members in objects {
            out.append(UInt8(ascii: any ? "," : "["))
            any = true
            newline(1, into: &out)
            if sortKeys {
                writeObject(members.sorted { $0.key < $1.key }, level: 1, into: &out)
            } else {
                writeObject(members, level: 1, into: &out)
            }
        }
        if !any { out.append(contentsOf: "[]".utf8); return }
        newline(0, into: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// Appends an array of objects whose members the caller writes one by one (`body` gets each
    /// element and a `Members` writer), in the same bytes as `appendObjectArray` with those members —
    /// without a `JSONValue` per member (`fleet list --json` at 10k machines: 110k of them). Members
    /// are written in call order, so this writer must not sort keys. `drain`, when given, is called
    /// whenever `out` holds more than `drainAt` bytes (and not after the last bytes): a caller can
    /// write them out and empty the buffer, so a large answer never sits in memory whole.
    public func appendObjects<S: Sequence>(_ items: S, into out: inout [UInt8], drainAt: Int = 1 << 18,
                                           drain: ((inout [UInt8]) -> Void)? = nil,
                                           _ body: (S.Element, inout Members, inout [UInt8]) -> Void) {
        precondition(!sortKeys, "appendObjects writes members in call order")
        let template = Members(writer: self, level: 1)
        var any = false
        for item in items {
            out.append(UInt8(ascii: any ? "," : "["))
            any = true
            out.append(contentsOf: template.newlines[0])
            var members = template
            out.append(UInt8(ascii: "{"))
            body(item, &members, &out)
            if members.first { out.removeLast(); out.append(contentsOf: "{}".utf8) } else {
                out.append(contentsOf: template.newlines[0])
                out.append(UInt8(ascii: "}"))
            }
            if let drain, out.count > drainAt { drain(&out) }
        }
        if !any { out.append(contentsOf: "[]".utf8); return }
        newline(0, into: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// The members of one object of `appendObjects`: each call writes `"key": value` as `write`
    /// writes that `JSONValue` (nil is `null`).
    public struct Members {
        let writer: JSONWriter
        var first = true
        /// Newline + indentation of the object's level, its members' and their array items'.
        let newlines: [[UInt8]]
        let separator: [UInt8]

        init(writer: JSONWriter, level: Int) {
            self.writer = writer
            newlines = (level...level + 2).map { l in
                var b: [UInt8] = []
                writer.newline(l, into: &b)
                return b
            }
            separator = Array((writer.indent == nil ? writer.keySeparator.trimmingSpaces : writer.keySeparator).utf8)
        }

        private mutating func key(_ key: StaticString, into out: inout [UInt8]) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: newlines[1])
            writer.writeKey(key, into: &out)
            out.append(contentsOf: separator)
        }

        public mutating func string(_ key: StaticString, _ value: String?, into out: inout [UInt8]) {
            self.key(key, into: &out)
            if let value { writer.writeString(value, into: &out) } else { out.append(contentsOf: "null".utf8) }
        }

        public mutating func int(_ key: StaticString, _ value: Int?, into out: inout [UInt8]) {
            self.key(key, into: &out)
            if let value { out.append(contentsOf: String(value).utf8) } else { out.append(contentsOf: "null".utf8) }
        }

        /// An array of strings. Not generic over collections: a generic one is not specialised across
        /// modules (`fleet list --json` wrote every tag and role through protocol witnesses).
        public mutating func strings(_ key: StaticString, _ values: [String], into out: inout [UInt8]) {
            self.key(key, into: &out)
            if values.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: newlines[2])
                writer.writeString(v, into: &out)
            }
            out.append(contentsOf: newlines[1])
            out.append(UInt8(ascii: "]"))
        }
    }

    func newline(_ level: Int, into out: inout [UInt8]) {
        guard let indent else { return }
        out.append(0x0A)
        for _ in 0..<level { out.append(contentsOf: indent.utf8) }
    }

    func writeString(_ s: String, into out: inout [UInt8]) {
        var s = s
        if s.withUTF8({ appendIfPlain($0, into: &out) }) { return }
        writeEscaped(s, into: &out)
    }

    /// A key given as a literal (`Members`): its bytes, no `String` made.
    func writeKey(_ key: StaticString, into out: inout [UInt8]) {
        if key.withUTF8Buffer({ appendIfPlain($0, into: &out) }) { return }
        writeEscaped(key.description, into: &out)
    }

    /// Fast path: most strings need no escaping and are appended whole, quoted, with one copy. One
    /// loop over the contiguous UTF-8 (a per-byte closure was 10% of `fleet list --json` at 10k
    /// machines). False (nothing appended) when a byte needs an escape.
    private func appendIfPlain(_ buf: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var i = 0
        while i < buf.count {
            let b = buf[i]
            if b < 0x20 || b == 0x22 || b == 0x5C || (ensureASCII && b > 0x7E)
                || (escapeHTML && (b == 0x3C || b == 0x3E || b == 0x26)) { return false }
            i += 1
        }
        out.append(0x22)
        out.append(contentsOf: buf)
        out.append(0x22)
        return true
    }

    private func writeEscaped(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out.append(contentsOf: "\\\"".utf8)
            case "\\": out.append(contentsOf: "\\\\".utf8)
            case "\n": out.append(contentsOf: "\\n".utf8)
            case "\r": out.append(contentsOf: "\\r".utf8)
            case "\t": out.append(contentsOf: "\\t".utf8)
            case "\u{08}": out.append(contentsOf: "\\b".utf8)
            case "\u{0C}": out.append(contentsOf: "\\f".utf8)
            case "<" where escapeHTML: out.append(contentsOf: "\\u003c".utf8)
            case ">" where escapeHTML: out.append(contentsOf: "\\u003e".utf8)
            case "&" where escapeHTML: out.append(contentsOf: "\\u0026".utf8)
            default:
                if u.value < 0x20 || (ensureASCII && u.value > 0x7E) {
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out.append(contentsOf: hexEscape(0xD800 + (v >> 10)).utf8)
                        out.append(contentsOf: hexEscape(0xDC00 + (v & 0x3FF)).utf8)
                    } else {
                        out.append(contentsOf: hexEscape(u.value).utf8)
                    }
                } else {
                    UTF8.encode(u) { out.append($0) }
                }
            }
        }
        out.append(0x22)
    }

    private func hexEscape(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - h.count) + h
    }
}

private extension String {
    var trimmingSpaces: String { String(self.filter { $0 != " " }) }
}
