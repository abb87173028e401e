import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files built into the binary at compile time by the EmbedFiles plugin (Plugins/EmbedFiles): the
/// demo fleet from `inventory/` (`EmbeddedFiles.demo`) and the themes from `themes/`
/// (`EmbeddedFiles.themes`). An installed `fleet` has no source tree beside it; this is what it ships.
public struct EmbeddedFiles: Sendable {
    public struct Entry: Sendable {
        /// Relative to the embedded directory: `vars/shared/…/secret`.
        public let path: String
        /// A symlink's target as written (clan's vars link to `sops/` relatively); nil for a file.
        public let symlink: String?
        let executable: Bool
        let base64: String

        init(path: String, executable: Bool, base64: String) {
            self.path = path
            self.executable = executable
            self.base64 = base64
            symlink = nil
        }

        init(path: String, symlink: String) {
            self.path = path
            self.symlink = symlink
            executable = false
            base64 = ""
        }

        /// A file's bytes; nil for a symlink.
        public var contents: Data? { symlink == nil ? Data(base64Encoded: base64) : nil }
    }

    /// Changes whenever any path, link or content does.
    public let digest: String
    public let entries: [Entry]

    /// The bytes of the file at `path`, nil when there is none.
    public func contents(_ path: String) -> Data? { entries.first { $0.path == path }?.contents }

    /// Writes every file and symlink below `directory` (created, with the parents it needs).
    public func write(to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var made: Set<String> = [directory]
        for e in entries {
            let path = directory + "/" + e.path
            let parent = (path as NSString).deletingLastPathComponent
            if made.insert(parent).inserted { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            if let target = e.symlink {
                try fm.createSymbolicLink(atPath: path, withDestinationPath: target)
            } else {
                try Self.create(path, e.contents ?? Data(), mode: e.executable ? 0o755 : 0o644)
            }
        }
    }

    /// A plain open/write/close: Foundation's writers sync every file to disk (seconds for the demo
    /// on a busy disk), and the caller unpacks into a private directory it renames whole.
    private static func create(_ path: String, _ data: Data, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)]) }
        defer { close(fd) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)]) }
            offset += n
        }
    }
}
