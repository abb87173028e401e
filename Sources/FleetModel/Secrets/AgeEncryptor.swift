/// Streaming age encryption: feed plaintext in pieces of any size, write out what each call
/// returns, in order. Memory stays bounded by one 64 KiB chunk.
public final class AgeEncryptor {
    private var sealer: AgeStream.Sealer
    private var preamble: [UInt8]
    private let armor: AgeArmor.Encoder?
    private var finished = false

    public init(recipients: [AgeRecipient], armor: Bool = false) throws {
        guard !recipients.isEmpty else { throw AgeError.other("no recipients to encrypt to") }
        var fileKey = AgeKeys.random(16)
        defer { fileKey.zeroize() }
        var header = AgeHeader(stanzas: try recipients.map { try AgeX25519.wrap(fileKey: fileKey, to: $0) }, mac: [])
        header.mac = AgeKeys.headerMAC(fileKey: fileKey, header: header.bytesForMAC())
        let nonce = AgeKeys.random(16)
        sealer = AgeStream.Sealer(key: AgeKeys.payloadKey(fileKey: fileKey, nonce: nonce))
        self.armor = armor ? AgeArmor.Encoder() : nil
        preamble = header.encoded() + nonce
        beginLine = self.armor?.begin() ?? []
    }

    /// The armor's BEGIN line, emitted once before anything else (not itself armored).
    private var beginLine: [UInt8]

    private func emit(_ binary: [UInt8]) -> [UInt8] {
        let out = beginLine + (armor?.update(binary) ?? binary)
        beginLine = []
        return out
    }

    /// Encrypts the next plaintext piece; returns the ciphertext bytes ready so far.
    public func update(_ plaintext: [UInt8]) throws -> [UInt8] {
        guard !finished else { throw AgeError.other("encryptor already finished") }
        let out = preamble + (try sealer.update(plaintext))
        preamble = []
        return emit(out)
    }

    /// Seals the final chunk; returns the remaining ciphertext.
    public func finish() throws -> [UInt8] {
        guard !finished else { throw AgeError.other("encryptor already finished") }
        finished = true
        let out = emit(preamble + (try sealer.finish()))
        preamble = []
        return out + (armor?.finish() ?? [])
    }
}
