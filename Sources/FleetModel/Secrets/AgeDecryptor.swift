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

    /// An error that followed authentic plaintext released by the same `update` call; it is
    /// reported by the next call, as age's reader does.
    private var deferred: Error?
    /// Plaintext that authenticated in the `finish` call that then failed (conformance tests
    /// check it against the testkit's partial-payload hashes; it is never returned).
    private(set) var releasedBeforeFailure: [UInt8] = []

    /// Feeds the next ciphertext piece; returns plaintext that has authenticated so far.
    public func update(_ bytes: [UInt8]) throws -> [UInt8] {
        try guarded(atEOF: false) { out in try feed(bytes, atEOF: false, into: &out) }
    }

    /// Ends the input; returns the remaining plaintext or throws if the file is incomplete.
    public func finish() throws -> [UInt8] {
        try guarded(atEOF: true) { out in try feed([], atEOF: true, into: &out) }
    }

    private func guarded(atEOF: Bool, _ body: (inout [UInt8]) throws -> Void) throws -> [UInt8] {
        if let deferred { failed = true; self.deferred = nil; throw deferred }
        if failed { throw AgeError.other("decryptor already failed") }
        var out: [UInt8] = []
        do {
            try body(&out)
            return out
        } catch {
            if !out.isEmpty && !atEOF { deferred = error; return out }
            releasedBeforeFailure = out
            failed = true
            throw error
        }
    }

    private func feed(_ bytes: [UInt8], atEOF: Bool, into out: inout [UInt8]) throws {
        var input = bytes
        if format == .auto {
            raw += input
            guard let armored = AgeArmor.detect(raw, atEOF: atEOF) else { return }
            format = armored ? .armored : .binary
            if armored { armor = AgeArmor.Decoder() }
            input = raw
            raw = []
        }
        guard let armor else { return try feedBinary(input, atEOF: atEOF, into: &out) }
        // Armor errors surface after the binary decoded before them has been processed.
        var armorError: Error?
        var binary: [UInt8] = []
        do {
            binary = try armor.update(input)
            if atEOF { binary += try armor.finish() }
        } catch {
            armorError = error
        }
        try feedBinary(binary, atEOF: atEOF && armorError == nil, into: &out)
        if let armorError { throw armorError }
    }

    private func feedBinary(_ bytes: [UInt8], atEOF: Bool, into out: inout [UInt8]) throws {
        var rest = bytes[...]
        if fileKey == nil {
            header += rest
            // A header can only complete at a line end: skip re-parsing until one arrives.
            let sawNewline = rest.contains(0x0A)
            rest = []
            if !sawNewline && !atEOF {
                if header.count > AgeHeader.maxSize { throw AgeError.header("header longer than \(AgeHeader.maxSize) bytes") }
                return
            }
            guard let parsed = try AgeHeader.parse(header, atEOF: atEOF) else { return }
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
                return
            }
            // `fileKey` is set above.
            opener = AgeStream.Opener(key: AgeKeys.payloadKey(fileKey: fileKey ?? [], nonce: nonceBuf))
        }
        out += try opener!.update(Array(rest))
        if atEOF { out += try opener!.finish() }
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
