import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `git add`/`git commit` killed half way (fleet and its children killed together) leaves its lock
/// files (`index.lock`, `HEAD.lock`, `refs/heads/<branch>.lock`, `packed-refs.lock`), and every later
/// git command refuses to run until someone deletes them. Called while holding `.git/clan.lock` (so
/// no fleet or clan is committing): a lock file that no process has open is stale and removed. A
/// live git keeps its lock files open for as long as it holds them. Only where `/proc` shows open
/// files (Linux); elsewhere git's own error names the file.
public enum GitStaleLocks {
    /// Removes the stale lock files of the repository whose git directory is `gitDirectory`;
    /// returns the paths removed.
    @discardableResult
    public static func remove(gitDirectory: String) -> [String] {
        guard FileManager.default.fileExists(atPath: "/proc/self/fd") else { return [] }
        var candidates = ["index.lock", "HEAD.lock", "ORIG_HEAD.lock", "packed-refs.lock"].map { gitDirectory + "/" + $0 }
        if let e = FileManager.default.enumerator(atPath: gitDirectory + "/refs") {
            while let rel = e.nextObject() as? String {
                if rel.hasSuffix(".lock") { candidates.append(gitDirectory + "/refs/" + rel) }
            }
        }
        var present: [(String, dev_t, ino_t)] = []
        for path in candidates {
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG { present.append((path, st.st_dev, st.st_ino)) }
        }
        guard !present.isEmpty else { return [] }
        let open = openFiles()
        var removed: [String] = []
        for (path, dev, ino) in present where !open.contains(FileID(dev: UInt64(dev), ino: UInt64(ino))) {
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    struct FileID: Hashable { let dev: UInt64; let ino: UInt64 }

    /// Every file some process has open (other users' processes are unreadable and not covered:
    /// a git run by another user in this repository at this very moment).
    static func openFiles() -> Set<FileID> {
        var out: Set<FileID> = []
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
                var st = stat()
                if stat("/proc/\(pid)/fd/\(fd)", &st) == 0 { out.insert(FileID(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))) }
            }
        }
        return out
    }
}
