import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// clan's network ping for direct networks (clan_lib/network/direct.py `ping` →
/// `check_machine_ssh_reachable`): is an ssh server answering at the address? A TCP connect and the
/// server's `SSH-` banner, within a short timeout, with no authentication (so no credentials and no
/// host-key prompt). Used to pick the first reachable network when resolving a target.
public enum TargetProbe {
    /// True when `host:port` accepts a TCP connection and sends an ssh banner within `timeout`.
    public static func sshReachable(host: String, port: Int, timeout: Duration = .seconds(2)) async -> Bool {
        await Task.detached { probe(host: host, port: port, timeoutMs: Int(timeout.components.seconds * 1000) + Int(timeout.components.attoseconds / 1_000_000_000_000_000)) }.value
    }

    /// Probes the address a target string names (`user@host:port`); false when it does not parse.
    public static func sshReachable(address: String, timeout: Duration = .seconds(2)) async -> Bool {
        guard let t = try? SSHTarget.parse(address) else { return false }
        return await sshReachable(host: t.host, port: t.port ?? 22, timeout: timeout)
    }

    private static func probe(host: String, port: Int, timeoutMs: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else { return false }
        defer { freeaddrinfo(res) }
        let deadline = ContinuousClock.now + .milliseconds(max(1, timeoutMs))
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            if tryOne(a.pointee, deadline: deadline) { return true }
            ai = a.pointee.ai_next
        }
        return false
    }

    private static func msLeft(_ deadline: ContinuousClock.Instant) -> Int32 {
        let d = deadline - ContinuousClock.now
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return Int32(max(0, min(Int64(Int32.max), ms)))
    }

    private static func tryOne(_ a: addrinfo, deadline: ContinuousClock.Instant) -> Bool {
        let fd = socket(a.ai_family, a.ai_socktype, a.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if connect(fd, a.ai_addr, a.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, msLeft(deadline)) == 1 else { return false }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0, err == 0 else { return false }
        }
        // The server speaks first: "SSH-2.0-…".
        var got: [UInt8] = []
        while got.count < 4 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, msLeft(deadline)) == 1 else { return false }
            var buf = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { return false }
            got += buf[0..<n]
        }
        return got.starts(with: Array("SSH-".utf8))
    }
}
