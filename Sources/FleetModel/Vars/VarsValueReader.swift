import Foundation

/// Reads one var's value: public bytes straight from `value`, secrets decrypted with the admin
/// identities (never cached, never logged) — `clan vars get`, and the Vars screen's reveal key.
public struct VarsValueReader: Sendable {
    public let clanDirectory: String
    public let backend: VarsSecretBackend?

    public init(clanDirectory: String, backend: VarsSecretBackend?) {
        self.clanDirectory = clanDirectory
        self.backend = backend
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notGenerated(String)
        case noAdminKey
        case notARecipient(String)
        case unreadable(String, String)

        public var description: String {
            switch self {
            case .notGenerated(let id): return "Var \(id) has not been generated yet"
            case .noAdminKey: return "no admin age key: set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY, or ~/.config/sops/age/keys.txt)"
            case .notARecipient(let id): return "\(id): your admin key is not a recipient of this secret"
            case .unreadable(let path, let why): return "\(path): \(why)"
            }
        }
    }

    public func value(_ generator: GeneratorID, file: String, secret: Bool) throws -> [UInt8] {
        let dir = clanDirectory + "/vars/\(generator.relDir)/\(file)"
        let id = "\(generator.name)/\(file)"
        guard secret else {
            guard let d = FileManager.default.contents(atPath: dir + "/value") else { throw Failure.notGenerated(id) }
            return Array(d)
        }
        guard let d = FileManager.default.contents(atPath: dir + "/secret") else { throw Failure.notGenerated(id) }
        guard let backend, !backend.adminRecipients.isEmpty else { throw Failure.noAdminKey }
        if let current = try? SopsFileRecipients.read(path: dir + "/secret"), current.isDisjoint(with: backend.adminRecipients) {
            throw Failure.notARecipient(id)
        }
        do { return try backend.decrypt(String(decoding: d, as: UTF8.self)) } catch { throw Failure.unreadable(dir + "/secret", "\(error)") }
    }
}
