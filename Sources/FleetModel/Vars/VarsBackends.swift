/// The cryptography the vars engine needs, in clan's terms. The production implementation is
/// `NativeVarsSecrets` (FleetModel/Secrets: native age + sops); the engine itself never sees keys.
public protocol VarsSecretBackend: Sendable {
    /// Public keys of the admin identities in use (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, keys.txt).
    var adminRecipients: [SopsKeyRef] { get }
    /// A clan sops secret file (binary store, `{"data": …}`) holding `value`, for `recipients`.
    func encrypt(_ value: [UInt8], to recipients: [SopsKeyRef]) throws -> String
    /// The plaintext of a clan sops secret file, with the admin identities.
    func decrypt(_ fileText: String) throws -> [UInt8]
    /// The same plaintext re-encrypted for a new recipient set (`sops updatekeys`).
    func reencrypt(_ fileText: String, to recipients: [SopsKeyRef]) throws -> String
    /// A fresh age key pair: the identity text (`AGE-SECRET-KEY-1…`, no newline) and its recipient.
    func generateIdentity() -> (identity: [UInt8], recipient: SopsKeyRef)
}

/// Runs a command (argv only) and reports its output lines. The production implementation wraps
/// `ProcessRunner` (FleetModel/Effects).
public protocol VarsCommandRunner: Sendable {
    func run(argv: [String], environment: [String: String]?, workingDirectory: String?,
             onLine: (@Sendable (_ line: String, _ isStderr: Bool) -> Void)?) async throws -> VarsCommandResult
}

public struct VarsCommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}
