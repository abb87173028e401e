/// sops JSON files as clan writes them: recipients, data key unwrap (age), MAC check, value
/// decryption. The identity is clan-core's published test admin key
/// (Fixtures/sops-real/clan-core/checks/assets/test-age-key.txt), a recipient
/// of the seed files, so mutations get past the key unwrap into the MAC and value paths.
enum FuzzSops {
    static let identity: AgeIdentity? = (try? AgeIdentity.parseFile(adminKeyFile))?.first
    static let adminKeyFile = "AGE-SECRET-KEY-1PL0M9CWRCG3PZ9DXRTTLMCVD57U6JDFE8K7DNVQ35F4JENZ6G3MQ0RQLRV\n"

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? Sops.recipients(ofFileText: text)
        guard let id = identity else { return }
        if let doc = try? Sops.decryptDocument(text, identities: [id]) {
            // Whatever decrypts must re-encrypt and decrypt to the same document.
            if let again = try? Sops.encryptDocument(doc, recipients: [id.recipient]) {
                let back = try? Sops.decryptDocument(again, identities: [id])
                FuzzCheck.require(back == doc, "sops re-encryption changed the document")
            }
        }
        _ = try? Sops.decryptClanSecret(text, identities: [id])
    }
}
