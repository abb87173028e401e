import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `git add`/`git commit` killed half way (fleet and its children killed together) leaves
/// `.git/index.lock`, and every later git command refuses to run until someone deletes it. Called
/// while holding `.git/clan.lock` (so no fleet or clan is committing): a lock file that no process
/// has open is stale and removed. A live git keeps the file open for as long as it holds the lock.
/// Only where `/proc` shows open files (Linux); elsewhere git's own error names the file.
public enum GitIndexLock {
    /// Removes `<gitDirectory>/index.lock` when no process has it open. Returns true if it did.
    @discardableResult
    public static func removeIfStale(gitDirectory: String) -> Bool {
        let lock = gitDirectory + "/index.lock"
        var st = stat()
        guard lstat(lock, &st) == 0, FileManager.default.fileExists(atPath: "/proc/self/fd") else { return false }
        if isOpenByAnyProcess(device: st.st_dev, inode: st.st_ino) { return false }
        return unlink(lock) == 0
    }

    static func isOpenByAnyProcess(device: dev_t, inode: ino_t) -> Bool {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for pid in pids where pid.allSatisfy(\.isNumber) {
            // Other users' fd directories are unreadable; a git run by another user in this repository
            // at this very moment is not covered.
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in fds {
                var st = stat()
                if stat("/proc/\(pid)/fd/\(fd)", &st) == 0, st.st_dev == device, st.st_ino == inode { return true }
            }
        }
        return false
    }
}
