#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The filesystem calls a `VarsFactReader` made to take its stamps — each `fstatat`/`lstat`, with its
/// base (clan directory, machine directory, working directory) and path, and each open of a machine's
/// directory — recorded in order while `VarsFactReader.stampLog` is set. `replay` makes exactly those
/// calls again, with the same flags and bases, and nothing else: no path building, no index, no
/// parsing. Replayed per reader, on the threads the status used (`VarsStatusIndex.replay`), that is the
/// stat floor of a warm status: what it would cost if fleet's own work were free.
final class VarsStampLog {
    enum Op: UInt8 {
        /// `openat(clan, path, O_PATH | O_DIRECTORY)` of `vars/per-machine/<m>` (the next machine's base;
        /// the previous one is closed).
        case openMachine = 1
        /// `fstatat(clan, path, 0)`.
        case statInClan
        /// `fstatat(machine, path, 0)`: relative to the last opened machine directory.
        case statInMachine
        /// `stat(path)`: an absolute path (the clan directory could not be opened).
        case stat
        /// `lstat(path)`: a link target (absolute, or relative to the working directory).
        case lstat
    }

    /// Op byte, then the path's bytes and a NUL, per call.
    private(set) var bytes: [UInt8] = []
    func record(_ op: Op, _ path: UnsafePointer<UInt8>, count: Int) {
        bytes.append(op.rawValue)
        bytes.append(contentsOf: UnsafeBufferPointer(start: path, count: count))
        bytes.append(0)
    }

    func record(_ op: Op, _ path: String) {
        var path = path
        path.withUTF8 { record(op, $0.baseAddress ?? UnsafePointer(bitPattern: 1)!, count: $0.count) }
    }

    /// A log's calls in order, with their paths (tests).
    static func calls(_ bytes: [UInt8]) -> [(op: Op, path: String)] {
        var out: [(op: Op, path: String)] = []
        var i = 0
        while i < bytes.count {
            let start = i + 1
            var end = start
            while end < bytes.count, bytes[end] != 0 { end += 1 }
            if let op = Op(rawValue: bytes[i]) { out.append((op, String(decoding: bytes[start..<end], as: UTF8.self))) }
            i = end + 1
        }
        return out
    }

    /// The calls in a log's bytes: stat-family ones and machine directory opens.
    static func count(_ bytes: [UInt8]) -> (stamps: Int, machineOpens: Int) {
        var stamps = 0, opens = 0, i = 0
        while i < bytes.count {
            if bytes[i] == Op.openMachine.rawValue { opens += 1 } else { stamps += 1 }
            i += 1
            while i < bytes.count, bytes[i] != 0 { i += 1 }
            i += 1
        }
        return (stamps, opens)
    }

    /// The recorded calls again, from `clanDirectory` opened as a reader opens it; the number of
    /// stat-family calls made (always `stamps`: nothing is skipped).
    static func replay(_ bytes: [UInt8], clanDirectory: String) -> Int {
        let clan = open(clanDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        var machine: Int32 = -1
        var calls = 0
        var st = stat()
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            var i = 0
            while i < b.count {
                let op = Op(rawValue: b[i])
                let path = UnsafeRawPointer(base + i + 1).assumingMemoryBound(to: CChar.self)
                switch op {
                case .openMachine?:
                    if machine >= 0 { close(machine) }
                    machine = openat(clan, path, VarsFactReader.directoryForLookups)
                case .statInClan?: _ = fstatat(clan, path, &st, 0); calls += 1
                case .statInMachine?: _ = fstatat(machine, path, &st, 0); calls += 1
                case .stat?: _ = stat(path, &st); calls += 1
                case .lstat?: _ = lstat(path, &st); calls += 1
                case nil: break
                }
                i += 2 + strlen(path)
            }
        }
        if machine >= 0 { close(machine) }
        if clan >= 0 { close(clan) }
        return calls
    }
}
