import Foundation

/// The plaintext bytes sops encrypts and MACs for each JSON scalar (sops `stores` + `aes/cipher.go`).
enum SopsPlaintext {
    /// (bytes, sops type) for a JSON scalar; nil for null (never encrypted, never MAC'd).
    static func encode(_ v: JSONValue) throws -> (bytes: [UInt8], type: String)? {
        switch v {
        case .null: return nil
        case .string(let s): return (Array(s.utf8), "str")
        case .bool(let b): return (Array((b ? "True" : "False").utf8), "bool")
        case .number(let n):
            // sops's JSON store decodes numbers with UseNumber: Int64 if it parses, else float64.
            if let i = Int64(n) { return (Array(String(i).utf8), "int") }
            guard let d = Double(n) else { throw SopsError("number '\(n)' cannot be represented") }
            return (Array(formatFloat(d).utf8), "float")
        case .array, .object: return nil
        }
    }

    /// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        var s = "\(d)"   // shortest round-trip, may be "1e-05" or "1.5e+21"
        var neg = false
        if s.hasPrefix("-") { neg = true; s.removeFirst() }
        var exp = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(s[s.index(after: e)...]) ?? 0
            s = String(s[..<e])
        }
        var intPart = s, frac = ""
        if let dot = s.firstIndex(of: ".") { intPart = String(s[..<dot]); frac = String(s[s.index(after: dot)...]) }
        var digits = intPart + frac
        var point = intPart.count + exp
        // Strip leading zeros, keeping the decimal point position consistent.
        while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }
        while digits.hasSuffix("0"), digits.count > 1 { digits.removeLast() }
        if digits == "0" { return neg ? "-0" : "0" }
        var out: String
        if point <= 0 {
            out = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            out = digits + String(repeating: "0", count: point - digits.count)
        } else {
            let idx = digits.index(digits.startIndex, offsetBy: point)
            out = digits[..<idx] + "." + digits[idx...]
        }
        return (neg ? "-" : "") + out
    }

    /// Decodes a decrypted leaf into its JSON value and the bytes the MAC covers (sops
    /// re-encodes the typed value, so e.g. a bool MACs as `True`/`False`).
    static func decode(_ bytes: [UInt8], type: String) throws -> (value: JSONValue, mac: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        switch type {
        case "str", "bytes", "time":
            return (.string(text), bytes)
        case "int":
            guard let i = Int64(text) ?? (text.hasPrefix("+") ? Int64(text.dropFirst()) : nil) else {
                throw SopsError("decrypted int value is not an integer")
            }
            return (.number(String(i)), Array(String(i).utf8))
        case "float":
            guard let d = Double(text) else { throw SopsError("decrypted float value is not a number") }
            return (.number(text), Array(formatFloat(d).utf8))
        case "bool":
            // Go strconv.ParseBool spellings.
            switch text {
            case "1", "t", "T", "TRUE", "true", "True": return (.bool(true), Array("True".utf8))
            case "0", "f", "F", "FALSE", "false", "False": return (.bool(false), Array("False".utf8))
            default: throw SopsError("decrypted bool value is not a boolean")
            }
        default:
            throw SopsError("unknown sops value type '\(type)'")
        }
    }
}
