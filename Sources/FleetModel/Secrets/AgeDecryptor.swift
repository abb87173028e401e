/// Streaming age decryption: feed ciphertext in pieces, get plaintext back as each 64 KiB chunk
/// authenticates. The header is parsed in full and its MAC verified before any plaintext is
/// returned. On a payload failure the plaintext already returned was authentic chunk by chunk,
/// but the file as a whole is not: callers that cannot roll back should use `Age.decrypt`.
public final class AgeDecryptor {
    public enum Format: Sendable { case auto, binary, armored }

    private let identities: [AgeIdentity]
    private var format: Format
    private var armor: AgeArmor.Decoder?
    private var raw: [UInt8] = []        // input before format detection
    private var header: [UInt8] = []     // binary bytes until the header is complete
    private var opener: AgeStream.Opener?
    private var fileKey: [UInt8]?
    private var nonceBuf: [UInt8] = []
    private var failed = false

    public init(identities: [AgeIdentity], format: Format = .auto) {
        self.identities = identities
        self.format = format
        if format == .armored { armor = AgeArmor.Decoder() }
    }

    deinit { fileKey?.zeroize() }

    public func update(_ bytes: [UInt8]) throws -> [UInt8] {
        try guarded { try feed(bytes, atEOF: false) }
    }

    public func finish() throws -> [UInt8] {
        try guarded { try feed([], atEOF: true) }
    }

    private func guarded(_ body: () throws -> [UInt8]) throws -> [UInt8] {
        if failed { throw AgeError.other("decryptor already failed") }
        do { return try body() } catch { failed = true; throw error }
    }

    private func feed(_ bytes: [UInt8], atEOF: Bool) throws -> [UInt8] {
        var input = bytes
        if format == .auto {
            raw += input
            guard let armored = AgeArmor.detect(raw, atEOF: atEOF) else { return [] }
            format = armored ? .armored : .binary
            if armored { armor = AgeArmor.Decoder() }
            input = raw
            raw = []
        }
        var binary = input
        if let armor {
            binary = try armor.update(input)
            if atEOF { binary += try armor.finish() }
        }
        return try feedBinary(binary, atEOF: atEOF)
    }

    private func feedBinary(_ bytes: [UInt8], atEOF: Bool) throws -> [UInt8] {
        var rest = bytes[...]
        if fileKey == nil {
            header += rest
            rest = []
            guard let parsed = try AgeHeader.parse(header, atEOF: atEOF) else { return [] }
            fileKey = try unwrap(parsed)
            rest = header[parsed.length...]
            header = []
        }
        if opener == nil {
            let need = 16 - nonceBuf.count
            nonceBuf += rest.prefix(need)
            rest = rest.dropFirst(need)
            if nonceBuf.count < 16 {
                if atEOF { throw AgeError.header(nonceBuf.isEmpty ? "missing payload nonce" : "payload nonce is truncated") }
                return []
            }
            // `fileKey` is set above.
            opener = AgeStream.Opener(key: AgeKeys.payloadKey(fileKey: fileKey ?? [], nonce: nonceBuf))
        }
        var out = try opener!.update(Array(rest))
        if atEOF { out += try opener!.finish() }
        return out
    }

    /// Tries every identity on every stanza, then checks the header MAC (age's `Decrypt`).
    private func unwrap(_ parsed: AgeHeader.Parsed) throws -> [UInt8] {
        var key: [UInt8]?
        outer: for id in identities {
            for s in parsed.header.stanzas {
                if case .fileKey(let k) = try AgeX25519.unwrap(s, with: id) { key = k; break outer }
            }
        }
        guard var fk = key else {
            throw AgeError.noMatch("the file is encrypted to \(parsed.header.stanzas.count) stanza(s), none for the \(identities.count) identity(ies) given")
        }
        let mac = AgeKeys.headerMAC(fileKey: fk, header: Array(header[0..<parsed.macInputLength]))
        guard AgeKeys.equal(mac, parsed.header.mac) else { fk.zeroize(); throw AgeError.hmac }
        return fk
    }
}
