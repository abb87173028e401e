/// age files (binary and armored), header parsing, header MAC, STREAM payload, and age key files.
/// The identity is the one of age's testkit (Fixtures/age-testkit), so seeds from the testkit reach
/// the MAC check and the payload; a mutated input must fail with an error or decrypt, never crash.
enum FuzzAge {
    static let identity: AgeIdentity? = try? AgeIdentity(
        parsing: "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0")

    static func run(_ bytes: [UInt8]) {
        guard let id = identity else { FuzzCheck.require(false, "testkit identity does not parse"); return }
        let whole = try? Age.decrypt(bytes, with: [id])
        // The streaming decryptor fed in two pieces must agree with the one-shot call.
        if !bytes.isEmpty {
            let cut = Int(bytes[0]) % bytes.count
            let d = AgeDecryptor(identities: [id])
            var out: [UInt8] = []
            var ok = true
            do {
                out += try d.update(Array(bytes[..<cut]))
                out += try d.update(Array(bytes[cut...]))
                out += try d.finish()
            } catch { ok = false }
            FuzzCheck.require((whole != nil) == ok, "one-shot and streaming decrypt disagree on success (cut \(cut))")
            if let w = whole, ok { FuzzCheck.require(w == out, "one-shot and streaming decrypt differ (cut \(cut))") }
        }
        _ = try? AgeHeader.parse(bytes, atEOF: true)
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? AgeIdentity.parseFile(text)
        _ = try? AgeRecipient(parsing: text)
    }
}
