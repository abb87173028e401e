import Foundation

/// sudo on a host asks for the deploy user's password (`SudoAskpass`). Made only by the deploy
/// (the memberwise init stays internal); the UI and the CLI read it.
public struct SudoPasswordRequest: Sendable, Equatable {
    public var host: String
    /// `alice@10.0.0.2`
    public var target: String
    /// sudo's own prompt, e.g. `[sudo] password for alice:`.
    public var prompt: String
    /// The previous answer was refused by sudo (it asks again after a wrong password).
    public var retry: Bool
}

/// A host offers a key that known_hosts does not have (`--host-key-check ask`, `HostKeyCheck`).
/// Made only by the deploy, like `SudoPasswordRequest`.
public struct HostKeyRequest: Sendable, Equatable {
    public var host: String
    /// How known_hosts will name it: `10.0.0.2` or `[10.0.0.2]:2222`.
    public var knownHostsName: String
    /// `ED25519`
    public var keyType: String
    /// `SHA256:…`, as OpenSSH prints it.
    public var fingerprint: String

    /// OpenSSH's wording (sshconnect.c), so users recognise the question.
    public var question: String {
        "The authenticity of host '\(knownHostsName)' can't be established. \(keyType) key fingerprint is \(fingerprint). Are you sure you want to continue connecting (yes/no)?"
    }
}

/// Who answers a deploy's questions: the dashboard (masked field, yes/no dialog) or the CLI's
/// terminal. `DeployOptions.interaction == nil` means nobody can be asked (headless without a
/// terminal): a sudo password or an unknown host key then fails that host with a clear message.
public struct DeployInteraction: Sendable {
    /// The password, or nil when the user cancelled. Called one request at a time per host.
    public var sudoPassword: @Sendable (SudoPasswordRequest) async -> String?
    /// True to trust the key (it is then added to known_hosts).
    public var confirmHostKey: @Sendable (HostKeyRequest) async -> Bool
    /// A prompt of a generator that must run before the deploy (`DeployVars`); nil answer: cancelled.
    /// nil closure: prompts cannot be answered (the run fails clearly before any host).
    public var varsPrompt: (@Sendable (PromptRequest) async -> String?)?

    public init(sudoPassword: @escaping @Sendable (SudoPasswordRequest) async -> String?,
                confirmHostKey: @escaping @Sendable (HostKeyRequest) async -> Bool,
                varsPrompt: (@Sendable (PromptRequest) async -> String?)? = nil) {
        self.sudoPassword = sudoPassword
        self.confirmHostKey = confirmHostKey
        self.varsPrompt = varsPrompt
    }
}
