import Foundation

/// Read access to the public values of a clan `vars/` tree (clan-formats.md §2.2), without Nix.
public struct VarsDirectory: Sendable {
    /// The clan directory (the one holding `vars/`).
    public let root: String
    public init(root: String) { self.root = root }

    /// `vars/per-machine/<m>/<gen>/<file>/value`, stripped as clan's `.strip()` does; nil if absent.
    public func machineValue(_ machine: String, generator: String, file: String) -> String? {
        read("vars/per-machine/\(machine)/\(generator)/\(file)/value")
    }

    /// `vars/shared/<gen>/<file>/value`.
    public func sharedValue(generator: String, file: String) -> String? {
        read("vars/shared/\(generator)/\(file)/value")
    }

    private func read(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: root + "/" + relative),
              let s = String(data: data, encoding: .utf8) else { return nil }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? nil : t
    }
}
