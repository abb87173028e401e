import Foundation

/// A path inside the repository that would leave it, or could not be checked.
public struct SafePathError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The path as asked for, relative to the repository.
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// Resolution of paths inside a repository without ever leaving it. clan links a secret's recipients
/// with relative symlinks (`vars/per-machine/m/g/f/users/admin -> ../../../../../../sops/users/admin`,
/// `sops/secrets/<s>/machines/m -> ../../../machines/m`, see clan_lib/vars/migrations); those resolve
/// inside the repository and are fine. A symlink in vars/ or sops/ that resolves outside it (an absolute
/// path elsewhere, or enough `../`) is refused, so a hostile repository cannot make fleet read, encrypt
/// to, or overwrite files elsewhere.
public enum SafePath {
    static let maxSymlinks = 40  // as Linux's MAXSYMLINKS

    /// The absolute, symlink-free path of `relative` inside `root`. Every symlink on the way is
    /// followed and must stay inside `root`; components that do not exist yet are appended as they are
    /// (so the result can be used to create a file), `..` among them included only while inside.
    public static func resolve(_ relative: String, in root: String) throws -> String {
        func fail(_ m: String) -> SafePathError { SafePathError(path: relative, message: m) }
        if relative.utf8.contains(0) { throw fail("contains a NUL byte") }
        if relative.hasPrefix("/") { throw fail("is an absolute path, expected one inside the repository") }
        guard let rootReal = realPath(root) else { throw fail("repository \(root) does not exist") }
        let rootParts = components(rootReal)

        var resolved = rootParts
        var pending = components(relative)
        var followed = 0
        var exists = true  // once a component is missing, nothing after it can be a symlink
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." { continue }
            if part == ".." {
                if resolved.count <= rootParts.count { throw fail("leaves the repository through '..'") }
                resolved.removeLast()
                continue
            }
            resolved.append(part)
            guard exists else { continue }
            let here = "/" + resolved.joined(separator: "/")
            var st = stat()
            if lstat(here, &st) != 0 { exists = false; continue }
            guard (st.st_mode & S_IFMT) == S_IFLNK else { continue }
            followed += 1
            if followed > maxSymlinks { throw fail("too many levels of symbolic links") }
            guard let target = readLink(here) else { throw fail("cannot read symlink \(here)") }
            resolved.removeLast()
            if target.hasPrefix("/") {
                resolved = []
                let t = components(target)
                // An absolute target is only acceptable when it names a place inside the repository.
                guard t.starts(with: rootParts) else {
                    throw fail("symlink \(display(here, rootReal)) -> \(target) points outside the repository")
                }
            }
            let linkAt = display(here, rootReal)
            pending = components(target) + pending
            // Walk the target's own `..` now so the error names this link, not a later component.
            while let first = pending.first, first == ".." || first == "." {
                pending.removeFirst()
                if first == "." { continue }
                if resolved.count <= rootParts.count {
                    throw fail("symlink \(linkAt) -> \(target) points outside the repository")
                }
                resolved.removeLast()
            }
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// Walks `directory` (relative to `root`, e.g. "vars" or "sops") and checks that every symlink
    /// in it resolves inside `root`. Returns how many symlinks it checked. Does not descend into
    /// symlinked directories (they are checked as links, and their contents are checked where they live).
    @discardableResult
    public static func checkTree(_ directory: String, in root: String) throws -> Int {
        let base = try resolve(directory, in: root)
        var count = 0
        var stack = [(abs: base, rel: directory)]
        while let (abs, rel) = stack.popLast() {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: abs) else { continue }
            for name in entries.sorted() {
                let childAbs = abs + "/" + name, childRel = rel + "/" + name
                var st = stat()
                guard lstat(childAbs, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFLNK:
                    count += 1
                    _ = try resolve(childRel, in: root)
                case S_IFDIR:
                    stack.append((childAbs, childRel))
                default:
                    break
                }
            }
        }
        return count
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func display(_ abs: String, _ root: String) -> String {
        abs.hasPrefix(root + "/") ? String(abs.dropFirst(root.count + 1)) : abs
    }
}
