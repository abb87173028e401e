@testable import FleetModel

// The String-appending writer JSONWriter replaced, kept as the reference its byte output must equal
// (JSONScannerTests).
struct LegacyJSONWriter: Sendable {
    /// Indentation per level; nil writes compact JSON on one line.
    var indent: String?
    /// Escape every non-ASCII character as `\uXXXX` (Python's `json.dump` default, which clan uses).
    var ensureASCII: Bool
    /// Separator after a key; Python writes ": ", Go's encoder ":" in compact mode.
    var keySeparator: String
    var sortKeys: Bool
    /// Go's encoder escapes <, > and & as \u003c etc. (sops output); Python does not.
    var escapeHTML: Bool

    init(indent: String? = nil, ensureASCII: Bool = false, keySeparator: String = ": ",
                sortKeys: Bool = false, escapeHTML: Bool = false) {
        self.indent = indent
        self.ensureASCII = ensureASCII
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
        self.escapeHTML = escapeHTML
    }

    /// `json.dump(obj, indent=2)` as clan writes `inventory.json`.
    static let python2 = LegacyJSONWriter(indent: "  ", ensureASCII: true)
    /// Compact, one line — for `--json` output.
    static let compact = LegacyJSONWriter(indent: nil, keySeparator: ":")

    func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, level: 0, into: &out)
        return out
    }

    private func write(_ value: JSONValue, level: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? "," : "," }
                newline(level + 1, into: &out)
                write(item, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out += "]"
        case .object(let dict):
            if dict.isEmpty { out += "{}"; return }
            out += "{"
            let keys = sortKeys ? dict.keys.sorted() : Array(dict.keys)
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                newline(level + 1, into: &out)
                writeString(key, into: &out)
                out += indent == nil ? keySeparator.legacyTrimmingSpaces : keySeparator
                write(dict[key]!, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out += "}"
        }
    }

    private func newline(_ level: Int, into out: inout String) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private func writeString(_ s: String, into out: inout String) {
        // Fast path: most strings need no escaping and are appended whole.
        if !s.utf8.contains(where: { b in
            b < 0x20 || b == 0x22 || b == 0x5C || (ensureASCII && b > 0x7E)
                || (escapeHTML && (b == 0x3C || b == 0x3E || b == 0x26))
        }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "<" where escapeHTML: out += "\\u003c"
            case ">" where escapeHTML: out += "\\u003e"
            case "&" where escapeHTML: out += "\\u0026"
            default:
                if u.value < 0x20 || (ensureASCII && u.value > 0x7E) {
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += hexEscape(0xD800 + (v >> 10)) + hexEscape(0xDC00 + (v & 0x3FF))
                    } else {
                        out += hexEscape(u.value)
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    private func hexEscape(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - h.count) + h
    }
}

private extension String {
    var legacyTrimmingSpaces: String { String(self.filter { $0 != " " }) }
}
