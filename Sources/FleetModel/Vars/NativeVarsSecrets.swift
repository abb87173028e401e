/// `VarsSecretBackend` over the native age + sops layer (FleetModel/Secrets).
public struct NativeVarsSecrets: VarsSecretBackend {
    /// Everything that decrypts (sops reads all key sources).
    public let identities: [AgeIdentity]
    /// Who the admin is: clan's one key source by precedence (`AdminKeys.publicKeys`).
    public let adminRecipients: [SopsKeyRef]

    /// Hardware/plugin identities (`AGE-PLUGIN-…`), used through the age binary and the plugin.
    public let plugins: [AgePluginIdentity]

    public init(identities: [AgeIdentity], plugins: [AgePluginIdentity] = [], adminRecipients: [SopsKeyRef]? = nil) {
        self.identities = identities
        self.plugins = plugins
        self.adminRecipients = adminRecipients ?? identities.map { SopsKeyRef($0.recipient.encoded) }
    }

    /// The admin identities from `$SOPS_AGE_KEY`, `$SOPS_AGE_KEY_FILE`, keys.txt (see `AdminKeys`).
    public init(environment: [String: String]) throws {
        identities = try AdminKeys.load(environment: environment)
        plugins = AdminKeys.pluginIdentities(environment: environment)
        adminRecipients = try AdminKeys.publicKeys(environment: environment).map { SopsKeyRef($0) }
    }

    /// Native X25519 recipients, and plugin recipients (`age1<plugin>1…`) for the age binary.
    static func ageRecipients(_ keys: [SopsKeyRef]) throws -> (native: [AgeRecipient], plugin: [String]) {
        var native: [AgeRecipient] = [], plugin: [String] = []
        for k in keys {
            guard k.kind == .age else { throw VarsError("", "pgp recipient \(k.publicKey) is not supported; only age keys") }
            if AgePlugins.pluginName(ofRecipient: k.publicKey) != nil { plugin.append(k.publicKey) } else { native.append(try AgeRecipient(parsing: k.publicKey)) }
        }
        return (native, plugin)
    }

    public func encrypt(_ value: [UInt8], to recipients: [SopsKeyRef]) throws -> String {
        let r = try Self.ageRecipients(recipients)
        return try Sops.encryptClanSecret(value, recipients: r.native, pluginRecipients: r.plugin)
    }

    public func decrypt(_ fileText: String) throws -> [UInt8] {
        try Sops.decryptClanSecret(fileText, identities: identities, plugins: plugins)
    }

    public func reencrypt(_ fileText: String, to recipients: [SopsKeyRef]) throws -> String {
        let r = try Self.ageRecipients(recipients)
        return try Sops.reencrypt(fileText, identities: identities, plugins: plugins, to: r.native, pluginRecipients: r.plugin)
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
