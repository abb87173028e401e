import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a generator directory's previous files while a generator's outputs are stored and
/// committed, so a failure half way (a full disk, a failed `git commit`) puts back exactly the old
/// var instead of leaving one file new and its sibling old. The old files are kept as hard links
/// under the git directory: that allocates no data blocks, so it works on a full disk, and restoring
/// is a `rename`. (clan writes file by file with no such step; a SIGKILL still leaves each file old
/// or new, never torn, see VarsAtomicWrite.)
struct VarsRollback {
    let directory: String
    let backup: String
    private var files: [String] = []
    private var links: [String: String] = [:]
    private var dirs: Set<String> = []
    private let existed: Bool

    /// Backups of killed runs (`fleet-rollback-<pid>` whose process is gone). Called under the clan lock.
    static func removeStale(gitDirectory: String) {
        let prefix = "fleet-rollback-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: gitDirectory)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: gitDirectory + "/" + name) }
        }
    }

    init(directory: String, gitDirectory: String, key: String) throws {
        self.directory = directory
        backup = gitDirectory + "/fleet-rollback-\(getpid())/" + key.replacingOccurrences(of: "/", with: "%")
        try? FileManager.default.removeItem(atPath: backup)
        var isDir: ObjCBool = false
        existed = FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) && isDir.boolValue
        guard existed else { return }
        for (rel, kind) in Self.entries(directory) {
            let path = directory + "/" + rel
            switch kind {
            case .dir: dirs.insert(rel)
            case .link: links[rel] = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
            case .file:
                let dest = backup + "/" + rel
                try FileManager.default.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                guard link(path, dest) == 0 else {
                    throw VarsError(path, "cannot keep the old version for rollback: \(String(cString: strerror(errno)))")
                }
                files.append(rel)
            }
        }
    }

    /// Puts the old directory back; best effort (it runs after an error and must not hide it).
    func restore() {
        for (rel, kind) in Self.entries(directory).reversed() {
            let path = directory + "/" + rel
            switch kind {
            case .file: if !files.contains(rel) { unlink(path) }
            case .link:
                if links[rel] != (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) { unlink(path) }
            case .dir: break
            }
        }
        for rel in files {
            let path = directory + "/" + rel
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            rename(backup + "/" + rel, path)
        }
        for (rel, target) in links where (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + rel)) == nil {
            let path = directory + "/" + rel
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            symlink(target, path)
        }
        // Directories the failed store created (deepest first).
        for (rel, kind) in Self.entries(directory).reversed() where kind == .dir && !dirs.contains(rel) {
            rmdir(directory + "/" + rel)
        }
        if !existed { rmdir(directory) }
        discard()
    }

    func discard() {
        try? FileManager.default.removeItem(atPath: backup)
        rmdir((backup as NSString).deletingLastPathComponent)
    }

    enum Kind { case file, link, dir }

    /// Every entry below `root` (not following symlinks), parents before children.
    static func entries(_ root: String) -> [(String, Kind)] {
        var out: [(String, Kind)] = []
        func walk(_ rel: String) {
            let base = rel.isEmpty ? root : root + "/" + rel
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted() {
                let r = rel.isEmpty ? name : rel + "/" + name
                var st = stat()
                guard lstat(root + "/" + r, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFLNK: out.append((r, .link))
                case S_IFDIR: out.append((r, .dir)); walk(r)
                default: out.append((r, .file))
                }
            }
        }
        walk("")
        return out
    }
}
