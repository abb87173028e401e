import Foundation

/// Read access to the public values of a clan `vars/` tree (clan-formats.md §2.2), without Nix.
public struct VarsDirectory: Sendable {
    /// The clan directory (the one holding `vars/`).
    public let root: String
    /// Set while a resolution's reads are recorded for the resolved-fleet cache.
    public var recorder: VarsReadRecorder?
    /// The machine this copy's reads are recorded for (`VarsReadRecorder.record`'s `owner`).
    var owner: String?
    /// Files read ahead (`ZerotierPrefetch`, finished), answered from there while reads are recorded.
    var prefetched: ZerotierPrefetch?
    public init(root: String, recorder: VarsReadRecorder? = nil) {
        self.root = root
        self.recorder = recorder
    }

    /// `vars/per-machine/<m>/<gen>/<file>/value`, stripped as clan's `.strip()` does; nil if absent.
    public func machineValue(_ machine: String, generator: String, file: String) -> String? {
        read("vars/per-machine/\(machine)/\(generator)/\(file)/value")
    }

    /// `vars/shared/<gen>/<file>/value`.
    public func sharedValue(generator: String, file: String) -> String? {
        read("vars/shared/\(generator)/\(file)/value")
    }

    /// `make bench` found this the hottest call of a 10k-machine first frame (two or three files per
    /// machine for zerotier IPs and deploy targets): a plain read(2) and an ASCII strip instead of
    /// FileManager + Data + `trimmingCharacters`. Non-ASCII values take the Foundation path, so the
    /// result is exactly what it was (Python's `.strip()` semantics, nil for invalid UTF-8).
    private func read(_ relative: String) -> String? {
        if let recorder, let f = prefetched?.file(relative) {
            recorder.record(stamp: f.stamp, grown: f.grown, relative, owner: owner)
            return f.value
        }
        guard let bytes = recorder.map({ $0.read(root: root, relative, owner: owner) }) ?? FileBytes.readSmall(root + "/" + relative) else { return nil }
        return Self.value(of: bytes)
    }

    /// A value file's bytes as the value: whitespace stripped as Python's `.strip()` does, nil when
    /// empty or not UTF-8.
    static func value(of bytes: [UInt8]) -> String? {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0d) }
        var lo = 0, hi = bytes.count
        while lo < hi, isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return lo == hi ? nil : String(decoding: bytes[lo..<hi], as: UTF8.self)
        }
        guard let s = String(data: Data(bytes), encoding: .utf8) else { return nil }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? nil : t
    }
}
