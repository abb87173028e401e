import Foundation

/// Where a machine is reached: clan's ssh address `[ssh://][user@]host[:port][?Opt=Val&…]`
/// (clan_lib/ssh/remote.py `_parse_ssh_uri`, clan-formats.md §3.4). The user defaults to `root`;
/// IPv6 addresses are written in brackets (`root@[fd00::1]:22`, `[fd00::1]`); query parameters become
/// `-o Opt=Val`.
public struct SSHTarget: Equatable, Sendable, CustomStringConvertible {
    public var user: String
    /// Host name or address, without brackets.
    public var host: String
    public var port: Int?
    /// `-o Key=Value` options from the query string, in order.
    public var options: [(key: String, value: String)]

    public init(user: String = "root", host: String, port: Int? = nil, options: [(key: String, value: String)] = []) {
        self.user = user
        self.host = host
        self.port = port
        self.options = options
    }

    public static func == (a: SSHTarget, b: SSHTarget) -> Bool {
        a.user == b.user && a.host == b.host && a.port == b.port
            && a.options.map { "\($0.key)=\($0.value)" } == b.options.map { "\($0.key)=\($0.value)" }
    }

    public var isIPv6: Bool { host.contains(":") }

    /// What ssh takes as its destination: `user@host`. ssh wants IPv6 addresses bare here (brackets
    /// make it look the name up in DNS) and the port as `-p`.
    public var sshDestination: String { "\(user)@\(host)" }

    /// The nix store URL for `nix copy --to`: `ssh-ng://user@host`, IPv6 in brackets. The port is not
    /// in the URL (nix 2.8 would hand `host:port` to ssh); it goes to ssh through `NIX_SSHOPTS` `-p`.
    public var storeURI: String { "ssh-ng://\(user)@\(isIPv6 ? "[\(host)]" : host)" }

    /// The canonical spelling, parseable by `parse`.
    public var description: String {
        let h = isIPv6 ? "[\(host)]" : host
        var s = "\(user)@\(h)"
        if let port { s += ":\(port)" }
        if !options.isEmpty { s += "?" + options.map { "\($0.key)=\($0.value)" }.joined(separator: "&") }
        return s
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public let input: String
        public let message: String
        public var description: String { "invalid target '\(input)': \(message)" }
    }

    /// Parses every form clan accepts: `host`, `user@host`, `user@host:port`, `[v6]`, `[v6]:port`,
    /// `user@[v6]:port`, with an optional `ssh://` prefix and `?Opt=Val&…` suffix. A bare IPv6
    /// address without brackets (`fd00::1`) is accepted too, as there is no port to confuse it with.
    public static func parse(_ input: String) throws -> SSHTarget {
        func fail(_ m: String) -> ParseError { ParseError(input: input, message: m) }
        var rest = Substring(input.trimmingCharacters(in: .whitespaces))
        if rest.isEmpty { throw fail("empty") }
        if rest.hasPrefix("ssh://") { rest = rest.dropFirst(6) }

        var options: [(key: String, value: String)] = []
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") where !pair.isEmpty {
                guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                    throw fail("option '\(pair)' is not Key=Value")
                }
                let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
                guard key.allSatisfy({ $0.isLetter || $0.isNumber }) else { throw fail("option name '\(key)' is not a word") }
                guard !value.contains(where: { $0.isWhitespace }) else { throw fail("option '\(key)' value contains whitespace") }
                options.append((key, value))
            }
            rest = rest[..<q]
        }

        var user = "root"
        // The user ends at the last `@` before the host (an `@` cannot be in a host).
        if let at = rest.lastIndex(of: "@") {
            let u = rest[..<at]
            guard !u.isEmpty else { throw fail("empty user before '@'") }
            guard u.allSatisfy({ $0.isLetter || $0.isNumber || "._-$".contains($0) }) else {
                throw fail("user '\(u)' has characters ssh does not accept")
            }
            user = String(u)
            rest = rest[rest.index(after: at)...]
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("'[' without ']'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected '\(after)' after ']'") }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { throw fail("brackets are only for IPv6 addresses") }
        } else {
            let colons = rest.filter { $0 == ":" }.count
            if colons == 1, let c = rest.firstIndex(of: ":") {
                host = rest[..<c]
                portText = rest[rest.index(after: c)...]
            } else {
                host = rest  // no colon, or a bare IPv6 address
            }
        }
        guard !host.isEmpty else { throw fail("empty host") }
        if host.contains(":") {
            guard host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else {
                throw fail("'\(host)' is not an IPv6 address")
            }
        } else {
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }),
                  !host.hasPrefix("-") else {
                throw fail("host '\(host)' has characters that are not allowed in a host name")
            }
        }
        var port: Int?
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p), portText.allSatisfy(\.isNumber) else {
                throw fail("port '\(portText)' is not a number between 1 and 65535")
            }
            port = p
        }
        return SSHTarget(user: user, host: String(host), port: port, options: options)
    }
}
