import Foundation

/// clan's `--host-key-check` modes (clan_lib/ssh/host_key.py `hostkey_to_ssh_opts`, default `ask`).
public enum HostKeyPolicy: String, Sendable, CaseIterable {
    /// `StrictHostKeyChecking=yes`: the key must already be in known_hosts.
    case strict
    /// clan passes no option, so OpenSSH asks on the terminal for an unknown key. ssh runs here with
    /// `BatchMode=yes` (no terminal); fleet asks itself instead (`HostKeyCheck`: the fingerprint in
    /// the UI or on the tty, then the accepted key is added to known_hosts) and ssh stays strict.
    /// A changed key is refused, as OpenSSH does.
    case ask
    /// `StrictHostKeyChecking=accept-new`: unknown hosts are added, a changed key is refused.
    case acceptNew = "accept-new"
    /// clan's alias of accept-new.
    case tofu
    /// `StrictHostKeyChecking=no` + `UserKnownHostsFile=/dev/null`: no check at all (clan's `none`).
    case none

    var sshOptions: [String] {
        switch self {
        case .strict, .ask: return ["-o", "StrictHostKeyChecking=yes"]
        case .acceptNew, .tofu: return ["-o", "StrictHostKeyChecking=accept-new"]
        case .none: return ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        }
    }

    /// What `--host-key-check` accepts, for help and error texts.
    public static let names = allCases.map(\.rawValue).joined(separator: "|")
}

/// How fleet talks ssh: the user's OpenSSH setup (agent, `~/.ssh/config`, known_hosts) plus one
/// ControlMaster per host, so a deploy does one handshake per host and every later command —
/// including the ssh that `nix copy` starts — rides on it.
public struct SSHSettings: Sendable, Equatable {
    /// Private directory (mode 0700) for the control sockets, `<dir>/%C`.
    public var controlDirectory: String
    /// `-F file` (the testbed's ssh_config). Nil: ssh reads `~/.ssh/config` as usual.
    public var configFile: String?
    public var hostKeyPolicy: HostKeyPolicy
    /// Seconds ssh waits for the TCP connection and handshake.
    public var connectTimeout: Int
    /// Seconds an idle master stays (clan: `ControlPersist=1m`).
    public var controlPersist: Int
    /// Extra `-o` options for every host (before the target's own `?Opt=Val` ones).
    public var extraOptions: [String]

    /// `-A` (clan: inventory `deploy.forwardAgent`, else `clan.core.networking.forwardAgent`).
    public var forwardAgent: Bool

    public init(controlDirectory: String, configFile: String? = nil, hostKeyPolicy: HostKeyPolicy = .strict,
                connectTimeout: Int = 10, controlPersist: Int = 60, extraOptions: [String] = [], forwardAgent: Bool = false) {
        self.forwardAgent = forwardAgent
        self.controlDirectory = controlDirectory
        self.configFile = configFile
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.controlPersist = controlPersist
        self.extraOptions = extraOptions
    }
}

/// Builds every ssh argv fleet runs. One function, so the options cannot drift between the
/// connect, the remote commands, and `NIX_SSHOPTS`.
public enum SSHCommand {
    /// The options (everything between `ssh` and the destination) for `target`.
    /// `BatchMode=yes`: there is no terminal to ask for passwords or host keys on; a prompt would
    /// hang the deploy, so ssh fails instead and the error names the host.
    /// `master: false` is for an ssh that runs on another host (a build host copying to the
    /// target): our control sockets and our `-F` config file are local paths that mean nothing
    /// there, so neither is passed; that ssh reads the build host's own `~/.ssh/config` (clan's
    /// `nix_ssh_env(control_master=False)` carries only the port, `-o` options, host-key policy and
    /// agent forwarding — clan_lib/ssh/remote.py:336-390).
    public static func options(_ target: SSHTarget, _ s: SSHSettings, master: Bool = true) -> [String] {
        var o: [String] = []
        if master, let f = s.configFile { o += ["-F", f] }
        if s.forwardAgent { o.append("-A") }
        if master {
            o += ["-o", "ControlMaster=auto",
                  "-o", "ControlPath=\(s.controlDirectory)/%C",
                  "-o", "ControlPersist=\(s.controlPersist)"]
        } else {
            o += ["-o", "ControlPath=none"]
        }
        o += s.hostKeyPolicy.sshOptions
        o += ["-o", "BatchMode=yes",
              "-o", "ConnectTimeout=\(s.connectTimeout)"]
        for e in s.extraOptions { o += ["-o", e] }
        for (k, v) in target.options { o += ["-o", "\(k)=\(v)"] }
        if let p = target.port { o += ["-p", String(p)] }
        return o
    }

    /// `ssh OPTIONS -T -- user@host 'quoted remote argv'` (`--` so nothing after it is an option). The remote argv is quoted word by word
    /// (`ShellQuote`) because sshd hands the joined string to the remote shell.
    public static func argv(_ target: SSHTarget, _ s: SSHSettings, remote: [String]) -> [String] {
        ["ssh"] + options(target, s) + ["-T", "--", target.sshDestination, ShellQuote.join(remote)]
    }

    /// `ssh -O exit`: closes the master at the end of the deploy, so nothing outlives fleet.
    public static func closeArgv(_ target: SSHTarget, _ s: SSHSettings) -> [String] {
        ["ssh"] + options(target, s) + ["-O", "exit", "--", target.sshDestination]
    }

    /// `ssh -O exit` to the master listening on `socket`, whichever host it serves: a literal
    /// ControlPath names it, so the destination is only a placeholder and no config is read.
    public static func closeArgv(socket: String) -> [String] {
        ["ssh", "-F", "/dev/null", "-o", "ControlPath=\(socket)", "-O", "exit", "--", "fleet-master"]
    }

    /// `NIX_SSHOPTS` for `nix copy --to ssh-ng://…`: the same options, so nix's ssh reuses the master.
    /// nix splits this variable on whitespace, so no option may contain any.
    public static func nixSSHOpts(_ target: SSHTarget, _ s: SSHSettings, master: Bool = true) throws -> String {
        let o = options(target, s, master: master)
        if let bad = o.first(where: { $0.contains(where: { $0.isWhitespace }) }) {
            throw SSHSettingsError(message: "ssh option '\(bad)' contains whitespace; nix splits NIX_SSHOPTS on whitespace")
        }
        return o.joined(separator: " ")
    }
}

public struct SSHSettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
