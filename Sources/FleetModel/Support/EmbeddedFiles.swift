import Foundation

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
        for e in entries {
            let path = directory + "/" + e.path
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if let target = e.symlink {
                try fm.createSymbolicLink(atPath: path, withDestinationPath: target)
            } else if let data = e.contents,
                      fm.createFile(atPath: path, contents: data, attributes: [.posixPermissions: e.executable ? 0o755 : 0o644]) {
                continue
            } else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }
}
