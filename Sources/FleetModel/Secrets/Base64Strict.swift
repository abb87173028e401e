/// Strict RFC 4648 base64 as age and sops need it. Foundation's decoder tolerates
/// non-canonical trailing bits and line breaks, which the age spec requires us to reject.
enum Base64Strict {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    static func encode<C: Collection>(_ bytes: C, padded: Bool) -> String where C.Element == UInt8 {
        String(decoding: encodeBytes(bytes, padded: padded), as: UTF8.self)
    }

    static func encodeBytes<C: Collection>(_ bytes: C, padded: Bool) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next(), b2 = it.next()
            let n = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if b1 != nil { out.append(alphabet[Int(n >> 6 & 63)]) } else if padded { out.append(61) }
            if b2 != nil { out.append(alphabet[Int(n & 63)]) } else if padded { out.append(61) }
        }
        return out
    }

    /// Decodes canonical base64. `padded` true requires `=` padding (armor, sops ENC fields);
    /// false forbids it (age header). Any other character, including CR/LF, is an error.
    static func decode<C: Collection>(_ text: C, padded: Bool) -> [UInt8]? where C.Element == UInt8 {
        var chars = Array(text)
        if padded {
            guard chars.count % 4 == 0 else { return nil }
            var pad = 0
            while pad < 2, let last = chars.last, last == 61 { chars.removeLast(); pad += 1 }
            if chars.last == 61 { return nil }
            // "xx==" must leave 2 chars, "xxx=" 3 chars in the last quantum.
            if pad > 0, chars.count % 4 != 4 - pad { return nil }
        } else if chars.count % 4 == 1 {
            return nil
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in chars {
            let v = reverse[Int(c)]
            if v < 0 { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        // Canonical: leftover bits (2 or 4) must be zero.
        if bits > 0, acc != 0 { return nil }
        if !padded, chars.count % 4 == 1 { return nil }
        return out
    }

    static func decode(_ text: String, padded: Bool) -> [UInt8]? { decode(Array(text.utf8), padded: padded) }
}
