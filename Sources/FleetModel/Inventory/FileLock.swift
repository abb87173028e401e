import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock(2)` on a file, the lock clan takes on `.git/clan.lock` around its commits
/// (clan_lib/git), so a concurrent `clan` (or fleet) never interleaves its writes and commits with
/// ours (clan-formats.md §6 item 5). Waiting happens on a thread of its own, never on the Swift
/// concurrency pool.
public final class FileLock: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Blocks (off the cooperative pool) until the lock is ours.
    public static func acquire(_ path: String) async throws -> FileLock {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<FileLock, Error>) in
            let t = Thread {
                let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    return c.resume(throwing: InventoryError(file: path, path: "", message: "cannot open lock file: \(String(cString: strerror(errno)))"))
                }
                while flock(fd, LOCK_EX) != 0 {
                    if errno == EINTR { continue }
                    let msg = String(cString: strerror(errno))
                    close(fd)
                    return c.resume(throwing: InventoryError(file: path, path: "", message: "cannot lock: \(msg)"))
                }
                c.resume(returning: FileLock(fd: fd, path: path))
            }
            t.name = "fleet-flock"
            t.start()
        }
    }

    /// The clan lock of the repository whose git directory is `gitDirectory`.
    public static func clan(gitDirectory: String) async throws -> FileLock {
        try await acquire(gitDirectory + "/clan.lock")
    }

    /// True if another process holds the lock right now (a non-blocking probe).
    public static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
