/// `VarsSecretBackend` over the native age + sops layer (FleetModel/Secrets).
public struct NativeVarsSecrets: VarsSecretBackend {
    /// Everything that decrypts (sops reads all key sources).
    public let identities: [AgeIdentity]
    /// Who the admin is: clan's one key source by precedence (`AdminKeys.publicKeys`).
    public let adminRecipients: [SopsKeyRef]

    public init(identities: [AgeIdentity]) {
        self.identities = identities
        self.adminRecipients = identities.map { SopsKeyRef($0.recipient.encoded) }
    }

    /// The admin identities from `$SOPS_AGE_KEY`, `$SOPS_AGE_KEY_FILE`, keys.txt (see `AdminKeys`).
    public init(environment: [String: String]) throws {
        identities = try AdminKeys.load(environment: environment)
        adminRecipients = try AdminKeys.publicKeys(environment: environment).map { SopsKeyRef($0) }
    }

    static func ageRecipients(_ keys: [SopsKeyRef]) throws -> [AgeRecipient] {
        try keys.map { k in
            guard k.kind == .age else { throw VarsError("", "pgp recipient \(k.publicKey) is not supported; only age keys") }
            return try AgeRecipient(parsing: k.publicKey)
        }
    }

    public func encrypt(_ value: [UInt8], to recipients: [SopsKeyRef]) throws -> String {
        try Sops.encryptClanSecret(value, recipients: try Self.ageRecipients(recipients))
    }

    public func decrypt(_ fileText: String) throws -> [UInt8] {
        try Sops.decryptClanSecret(fileText, identities: identities)
    }

    public func reencrypt(_ fileText: String, to recipients: [SopsKeyRef]) throws -> String {
        try Sops.reencrypt(fileText, identities: identities, to: try Self.ageRecipients(recipients))
    }

    public func generateIdentity() -> (identity: [UInt8], recipient: SopsKeyRef) {
        let id = AgeIdentity.generate()
        return (Array(id.encoded.utf8), SopsKeyRef(id.recipient.encoded))
    }
}

/// `VarsCommandRunner` over `ProcessRunner` (own process group; cancelling the task kills it).
public struct ProcessVarsRunner: VarsCommandRunner {
    public var timeout: Duration

    public init(timeout: Duration = .seconds(600)) { self.timeout = timeout }

    public func run(argv: [String], environment: [String: String]?, workingDirectory: String?,
                    onLine: (@Sendable (String, Bool) -> Void)?) async throws -> VarsCommandResult {
        let spec = ProcessSpec(argv: argv, environment: environment, workingDirectory: workingDirectory, timeout: timeout)
        let r = try await ProcessRunner().stream(spec, onStdoutLine: { onLine?($0, false) }, onStderrLine: { onLine?($0, true) })
        if r.timedOut { throw VarsError(argv.first ?? "", "timed out after \(timeout)") }
        return VarsCommandResult(status: r.status, stdout: r.stdoutString, stderr: r.stderrString)
    }
}
