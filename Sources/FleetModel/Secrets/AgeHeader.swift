/// One recipient stanza of an age header: `-> type args…` plus a base64 body.
struct AgeStanza: Equatable {
    var type: String
    var args: [String]
    var body: [UInt8]

    /// Serialises as age's `Stanza.Marshal`: body wrapped at 64 columns, always ending with a
    /// line shorter than 64 (possibly empty).
    func encoded() -> [UInt8] {
        var out = Array("->".utf8)
        for a in [type] + args { out += Array(" \(a)".utf8) }
        out.append(0x0A)
        let b64 = Base64Strict.encodeBytes(body, padded: false)
        var i = 0
        while i + 64 <= b64.count { out += b64[i..<i + 64]; out.append(0x0A); i += 64 }
        out += b64[i...]
        out.append(0x0A)
        return out
    }
}

/// The parsed text header of an age v1 file.
struct AgeHeader: Equatable {
    static let intro = Array("age-encryption.org/v1\n".utf8)
    static let maxSize = 1 << 20

    var stanzas: [AgeStanza]
    var mac: [UInt8]

    /// Bytes covered by the header MAC: from the intro through `---` (not the space after it).
    func bytesForMAC() -> [UInt8] {
        var out = AgeHeader.intro
        for s in stanzas { out += s.encoded() }
        out += Array("---".utf8)
        return out
    }

    func encoded() -> [UInt8] {
        bytesForMAC() + Array(" ".utf8) + Base64Strict.encodeBytes(mac, padded: false) + [0x0A]
    }

    struct Parsed {
        var header: AgeHeader
        /// Length of the MAC'd prefix (through `---`).
        var macInputLength: Int
        /// Length of the whole header including the MAC line's LF; the payload starts here.
        var length: Int
    }

    private static func isVChar(_ b: UInt8) -> Bool { b >= 0x21 && b <= 0x7E }

    /// Parses a header from the start of `buf`, following age's `format.Parse` exactly.
    /// Returns nil when more input is needed (and `atEOF` is false).
    static func parse(_ buf: [UInt8], atEOF: Bool) throws -> Parsed? {
        var pos = 0
        // nil = need more input; otherwise the line without its LF.
        func readLine() throws -> ArraySlice<UInt8>? {
            guard let nl = buf[pos...].firstIndex(of: 0x0A) else {
                if buf.count > maxSize { throw AgeError.header("header longer than \(maxSize) bytes") }
                if atEOF { throw AgeError.header(buf.isEmpty ? "file is empty" : "unexpected end of file inside the header") }
                return nil
            }
            let line = buf[pos..<nl]
            pos = nl + 1
            return line
        }
        func show(_ s: ArraySlice<UInt8>) -> String {
            let t = String(decoding: s.prefix(80), as: UTF8.self)
            return "\"\(t.replacingOccurrences(of: "\r", with: "\\r"))\""
        }

        guard let intro = try readLine() else { return nil }
        guard Array(intro) + [0x0A] == AgeHeader.intro else {
            throw AgeError.header("unexpected intro line \(show(intro)), expected \"age-encryption.org/v1\"")
        }
        var stanzas: [AgeStanza] = []
        while true {
            let lineStart = pos
            if buf.count - pos < 3 {
                if atEOF { throw AgeError.header("unexpected end of file inside the header") }
                return nil
            }
            if buf[pos..<pos + 3].elementsEqual("---".utf8) {
                guard let line = try readLine() else { return nil }
                let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].elementsEqual("---".utf8) else {
                    throw AgeError.header("malformed closing line \(show(line)): expected '--- <mac>'")
                }
                guard !parts[1].contains(0x0D), let mac = Base64Strict.decode(parts[1], padded: false), mac.count == 32 else {
                    throw AgeError.header("malformed closing line \(show(line)): the MAC is not 32 bytes of canonical unpadded base64")
                }
                return Parsed(header: AgeHeader(stanzas: stanzas, mac: mac), macInputLength: lineStart + 3, length: pos)
            }
            guard let open = try readLine() else { return nil }
            let parts = open.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].elementsEqual("->".utf8) else {
                throw AgeError.header("malformed stanza opening line \(show(open))")
            }
            for a in parts.dropFirst() where a.isEmpty || !a.allSatisfy(isVChar) {
                throw AgeError.header("malformed stanza \(show(open)): arguments must be non-empty printable ASCII")
            }
            let args = parts.dropFirst().map { String(decoding: $0, as: UTF8.self) }
            var body: [UInt8] = []
            while true {
                guard let line = try readLine() else { return nil }
                guard !line.contains(0x0D), let b = Base64Strict.decode(line, padded: false) else {
                    if line.starts(with: "---".utf8) || line.starts(with: "->".utf8) {
                        throw AgeError.header("stanza \(args[0]) ended without a short body line")
                    }
                    throw AgeError.header("malformed body line \(show(line)) in stanza \(args[0]): not canonical unpadded base64")
                }
                guard b.count <= 48 else { throw AgeError.header("body line of stanza \(args[0]) is longer than 64 columns") }
                body += b
                if b.count < 48 { break }
            }
            stanzas.append(AgeStanza(type: args[0], args: Array(args.dropFirst()), body: body))
        }
    }
}
