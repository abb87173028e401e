import Crypto
import Foundation

/// One sops-encrypted leaf, `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (sops `aes/cipher.go`).
struct SopsEncryptedValue: Equatable {
    var data: [UInt8]
    var iv: [UInt8]
    var tag: [UInt8]
    var type: String

    static let prefix = "ENC[AES256_GCM,"

    /// Parses the ENC string; sops matches `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`.
    init(parsing s: String) throws {
        guard s.hasPrefix(SopsEncryptedValue.prefix), s.hasSuffix("]") else {
            throw SopsError("value does not match sops' data format ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]")
        }
        let inner = s.dropFirst(SopsEncryptedValue.prefix.count).dropLast()
        let parts = inner.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw SopsError("ENC value must have data, iv, tag and type fields") }
        func field(_ i: Int, _ name: String) throws -> Substring {
            guard parts[i].hasPrefix(name + ":"), parts[i].count > name.count + 1 else {
                throw SopsError("ENC value: field \(i + 1) must be '\(name):…'")
            }
            return parts[i].dropFirst(name.count + 1)
        }
        func b64(_ i: Int, _ name: String) throws -> [UInt8] {
            guard let d = Base64Strict.decode(Array(try field(i, name).utf8), padded: true) else {
                throw SopsError("ENC value: '\(name)' is not valid base64")
            }
            return d
        }
        data = try b64(0, "data")
        iv = try b64(1, "iv")
        tag = try b64(2, "tag")
        type = String(try field(3, "type"))
        guard !iv.isEmpty else { throw SopsError("ENC value: empty iv") }
        guard tag.count == 16 else { throw SopsError("ENC value: tag is \(tag.count) bytes, expected 16") }
    }

    init(data: [UInt8], iv: [UInt8], tag: [UInt8], type: String) {
        self.data = data; self.iv = iv; self.tag = tag; self.type = type
    }

    var encoded: String {
        "ENC[AES256_GCM,data:\(Base64Strict.encode(data, padded: true)),iv:\(Base64Strict.encode(iv, padded: true)),tag:\(Base64Strict.encode(tag, padded: true)),type:\(type)]"
    }

    /// AES-256-GCM with a 32-byte IV (sops's choice) and the key path as additional data.
    static func seal(_ plaintext: [UInt8], type: String, key: SymmetricKey, aad: [UInt8]) throws -> SopsEncryptedValue {
        let iv = AgeKeys.random(32)
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: iv), authenticating: aad)
        return SopsEncryptedValue(data: Array(box.ciphertext), iv: iv, tag: Array(box.tag), type: type)
    }

    func open(key: SymmetricKey, aad: [UInt8]) throws -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: data, tag: tag)
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw SopsError("could not decrypt the value: authentication failed (wrong data key, or the value, IV, tag or its key path was altered)")
        }
    }
}

/// sops's `lastmodified`: written as UTC whole seconds with `Z`; verified by re-formatting the
/// parsed time as Go's RFC 3339 (fraction dropped, zero offset as `Z`), which is the MAC's AAD.
enum SopsTime {
    static func format(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.calendar = Calendar(identifier: .gregorian)
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return f.string(from: date)
    }

    /// Go `time.Parse(time.RFC3339, s).Format(time.RFC3339)`.
    static func reformat(_ s: String) throws -> String {
        let b = Array(s.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.upperBound <= b.count && b[r].allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard b.count >= 20, digits(0..<4), b[4] == 45, digits(5..<7), b[7] == 45, digits(8..<10), b[10] == 84,
              digits(11..<13), b[13] == 58, digits(14..<16), b[16] == 58, digits(17..<19) else {
            throw SopsError("lastmodified '\(s)' is not an RFC 3339 time", field: "sops.lastmodified")
        }
        var i = 19
        if b[i] == 46 {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            if i == start { throw SopsError("lastmodified '\(s)' has an empty fraction", field: "sops.lastmodified") }
        }
        let base = String(decoding: b[0..<19], as: UTF8.self)
        let zone = String(decoding: b[i...], as: UTF8.self)
        if zone == "Z" { return base + "Z" }
        let z = Array(zone.utf8)
        guard z.count == 6, z[0] == 43 || z[0] == 45, digits(i + 1..<i + 3), z[3] == 58, digits(i + 4..<i + 6) else {
            throw SopsError("lastmodified '\(s)' has no valid time zone", field: "sops.lastmodified")
        }
        if zone == "+00:00" || zone == "-00:00" { return base + "Z" }
        return base + zone
    }
}
