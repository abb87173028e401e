import Foundation

/// age v1 (c2sp.org/age) with X25519 recipients, on swift-crypto. Output is byte-compatible
/// with the `age` CLI; input is parsed as strictly as age does.
public enum Age {
    /// Encrypts `plaintext` to every recipient (one stanza each).
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient], armor: Bool = false) throws -> [UInt8] {
        let e = try AgeEncryptor(recipients: recipients, armor: armor)
        return try e.update(plaintext) + e.finish()
    }

    /// Decrypts a binary or armored age file with the first identity that matches. Nothing is
    /// returned unless the whole file authenticates.
    public static func decrypt(_ ciphertext: [UInt8], with identities: [AgeIdentity]) throws -> [UInt8] {
        let d = AgeDecryptor(identities: identities)
        var out = try d.update(ciphertext)
        do { out += try d.finish() } catch { out.zeroize(); throw error }
        return out
    }

    static let ioChunk = 256 * 1024

    /// Streams `input` to `output` encrypted; memory stays bounded regardless of size.
    public static func encrypt(from input: FileHandle, to output: FileHandle, recipients: [AgeRecipient], armor: Bool = false) throws {
        let e = try AgeEncryptor(recipients: recipients, armor: armor)
        while true {
            guard let data = try input.read(upToCount: ioChunk), !data.isEmpty else { break }
            try output.write(contentsOf: try e.update(Array(data)))
        }
        try output.write(contentsOf: try e.finish())
    }

    /// Streams `input` to `output` decrypted. Each 64 KiB chunk is written once it
    /// authenticates; on a payload error the output is incomplete and the error says so.
    public static func decrypt(from input: FileHandle, to output: FileHandle, identities: [AgeIdentity], format: AgeDecryptor.Format = .auto) throws {
        let d = AgeDecryptor(identities: identities, format: format)
        while true {
            guard let data = try input.read(upToCount: ioChunk), !data.isEmpty else { break }
            try output.write(contentsOf: try d.update(Array(data)))
        }
        try output.write(contentsOf: try d.finish())
    }

    /// The raw armored bytes for a binary age file (for callers that armor separately).
    static func armor(_ binary: [UInt8]) -> [UInt8] {
        let e = AgeArmor.Encoder()
        return e.begin() + e.update(binary) + e.finish()
    }
}
