import Foundation

/// An age plugin identity line (`AGE-PLUGIN-YUBIKEY-1…`) from the admin's key sources.
public struct AgePluginIdentity: Sendable, Equatable {
    public let identity: String
    /// Where it was read (`$SOPS_AGE_KEY` or a file), for error messages.
    public let source: String
    /// The plugin's name: `yubikey` for `AGE-PLUGIN-YUBIKEY-1…` (program `age-plugin-yubikey`).
    public var plugin: String { AgePlugins.pluginName(ofIdentity: identity) ?? "" }
}

/// Plugin recipients and identities (hardware keys such as age-plugin-yubikey), which clan hands
/// to sops and sops to the plugin (clan installs them from `clan.secrets.age.plugins`,
/// clan_cli/secrets/sops.py:223-235,300-313). fleet has no plugin code of its own: it runs the real
/// `age` binary, which speaks the age plugin protocol to `age-plugin-<name>` on PATH. Only the
/// 32-byte sops data key crosses the pipes; nothing secret is written to disk.
public enum AgePlugins {
    /// `age1<name>1…` → `<name>`; nil for a native X25519 recipient (`age1…`) or anything else.
    public static func pluginName(ofRecipient r: String) -> String? {
        guard r.hasPrefix("age1"), let sep = r.lastIndex(of: "1"), sep > r.index(r.startIndex, offsetBy: 3) else { return nil }
        let name = String(r[r.index(r.startIndex, offsetBy: 4)..<sep])
        return name.isEmpty ? nil : name
    }

    /// `AGE-PLUGIN-<NAME>-1…` → `<name>` (lower case).
    public static func pluginName(ofIdentity i: String) -> String? {
        guard i.hasPrefix("AGE-PLUGIN-"), let sep = i.lastIndex(of: "1") else { return nil }
        var name = i[i.index(i.startIndex, offsetBy: 11)..<sep]
        guard name.hasSuffix("-") else { return nil }
        name = name.dropLast()
        return name.isEmpty ? nil : name.lowercased()
    }

    /// The plugin identity lines of a key file's text.
    public static func identities(in text: String, source: String) -> [AgePluginIdentity] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("AGE-PLUGIN-") }.map { AgePluginIdentity(identity: $0, source: source) }
    }

    /// The armored age file holding `dataKey` for a plugin recipient (`age -e -a -r R`).
    public static func wrap(_ dataKey: [UInt8], to recipient: String, environment: [String: String]) throws -> String {
        let plugin = pluginName(ofRecipient: recipient) ?? "?"
        try requirePlugin(plugin, for: "recipient \(recipient)", environment: environment)
        let r = try runAge(["--encrypt", "--armor", "--recipient", recipient], stdin: dataKey, environment: environment)
        guard r.status == 0 else { throw SopsError("age could not encrypt to \(recipient) with age-plugin-\(plugin): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    /// The data key from an armored age file, opened by `identity` through its plugin. The identity
    /// goes to age on stdin; the ciphertext (not secret: it is in the repository) through a file.
    public static func unwrap(_ armored: String, identity: AgePluginIdentity, environment: [String: String]) throws -> [UInt8] {
        try requirePlugin(identity.plugin, for: "the age plugin identity in \(identity.source)", environment: environment)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-age-\(UUID().uuidString).age").path
        try Data(armored.utf8).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        let r = try runAge(["--decrypt", "--identity", "/dev/stdin", file], stdin: Array((identity.identity + "\n").utf8), environment: environment)
        guard r.status == 0 else {
            throw SopsError("age-plugin-\(identity.plugin) could not open the data key: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r.stdout
    }

    /// A clear error when the plugin program (or age itself) is not on PATH.
    static func requirePlugin(_ name: String, for what: String, environment: [String: String]) throws {
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        guard GeneratorSandbox.which("age", path: path) != nil else {
            throw SopsError("\(what) needs the age program (which runs age-plugin-\(name)); install age")
        }
        guard GeneratorSandbox.which("age-plugin-\(name)", path: path) != nil else {
            throw SopsError("\(what) needs the program age-plugin-\(name), which is not on PATH; install it (clan: list it in clan.secrets.age.plugins)")
        }
    }

    struct Output { let status: Int32; let stdout: [UInt8]; let stderr: String }

    static func runAge(_ args: [String], stdin: [UInt8], environment: [String: String]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: GeneratorSandbox.which("age", path: environment["PATH"] ?? "/usr/bin:/bin") ?? "/usr/bin/age")
        p.arguments = args
        p.environment = environment
        let i = Pipe(), o = Pipe(), e = Pipe()
        p.standardInput = i
        p.standardOutput = o
        p.standardError = e
        try p.run()
        try i.fileHandleForWriting.write(contentsOf: Data(stdin))
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        let err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: Array(out), stderr: String(decoding: err, as: UTF8.self))
    }
}
