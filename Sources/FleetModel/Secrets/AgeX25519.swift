import Crypto
import Foundation

/// The X25519 recipient type of age v1 (spec: c2sp.org/age, "The X25519 recipient type").
enum AgeX25519 {
    static let label = Array("age-encryption.org/v1/X25519".utf8)

    private static func wrapKey(sharedSecret: SharedSecret, share: [UInt8], recipient: [UInt8]) -> SymmetricKey {
        sharedSecret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: share + recipient, sharedInfo: label, outputByteCount: 32)
    }

    static func wrap(fileKey: [UInt8], to recipient: AgeRecipient) throws -> AgeStanza {
        let eph = Curve25519.KeyAgreement.PrivateKey()
        let share = Array(eph.publicKey.rawRepresentation)
        let pub = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient.publicKey)
        let ss = try eph.sharedSecretFromKeyAgreement(with: pub)
        if isAllZero(ss) { throw AgeError.other("recipient \(recipient.encoded) is a low-order point") }
        let key = wrapKey(sharedSecret: ss, share: share, recipient: recipient.publicKey)
        let box = try ChaChaPoly.seal(fileKey, using: key, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        return AgeStanza(type: "X25519", args: [Base64Strict.encode(share, padded: false)], body: Array(box.ciphertext) + Array(box.tag))
    }

    enum UnwrapResult { case fileKey([UInt8]), notOurs }

    /// Unwraps one X25519 stanza. Malformed stanzas are header failures; a stanza for another
    /// key is `notOurs`, as in age's `X25519Identity.unwrap`.
    static func unwrap(_ s: AgeStanza, with identity: AgeIdentity) throws -> UnwrapResult {
        guard s.type == "X25519" else { return .notOurs }
        guard s.args.count == 1 else { throw AgeError.header("X25519 stanza must have exactly one argument, has \(s.args.count)") }
        guard let share = Base64Strict.decode(s.args[0], padded: false), share.count == 32 else {
            throw AgeError.header("X25519 stanza share is not 32 bytes of canonical base64")
        }
        guard s.body.count == 32 else { throw AgeError.header("X25519 stanza body is \(s.body.count) bytes, expected 32") }
        let pub = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: share)
        let ss = try identity.privateKey.sharedSecretFromKeyAgreement(with: pub)
        // swift-crypto does not reject the all-zero result of a low-order share; the spec requires it.
        if isAllZero(ss) { throw AgeError.header("X25519 stanza share is a low-order point") }
        let key = wrapKey(sharedSecret: ss, share: share, recipient: identity.recipient.publicKey)
        guard let box = try? ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
                                                  ciphertext: s.body[0..<16], tag: s.body[16..<32]),
              let fk = try? ChaChaPoly.open(box, using: key) else { return .notOurs }
        return .fileKey(Array(fk))
    }

    private static func isAllZero(_ ss: SharedSecret) -> Bool {
        ss.withUnsafeBytes { raw in raw.reduce(UInt8(0)) { $0 | $1 } == 0 }
    }
}

/// HKDF and HMAC pieces shared by the header MAC and the payload.
enum AgeKeys {
    static func headerMAC(fileKey: [UInt8], header: [UInt8]) -> [UInt8] {
        let k = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), info: Array("header".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: header, using: k))
    }

    static func payloadKey(fileKey: [UInt8], nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce, info: Array("payload".utf8), outputByteCount: 32)
    }

    static func random(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// Constant-time comparison for MACs.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in 0..<a.count { d |= a[i] ^ b[i] }
        return d == 0
    }
}

extension Array where Element == UInt8 {
    /// Overwrites the buffer with zeros (best effort: copies made earlier are not reached).
    mutating func zeroize() {
        withUnsafeMutableBytes { raw in
            if let p = raw.baseAddress { memset(p, 0, raw.count) }
        }
    }
}
