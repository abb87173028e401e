import Foundation
import Logging
import Synchronization

/// fleet's log file, `$XDG_STATE_HOME/fleet/fleet.log` (as k9s keeps `k9s.log`): one line per event,
/// `2026-12-03T06:40:00.123Z info fleet.deploy: [cinnabar] build ok (12.3s)`, appended by every fleet
/// process, rotated at `maxBytes` to `fleet.log.1` … `.3`.
///
/// What is logged is what happened (commands, child processes' argv and exit status, deploy stages,
/// errors), never a value: stdin, prompt answers, generator output and decrypted files are not
/// passed to a logger, and every line is masked once more for age secret keys before it is written.
/// The secrets hygiene test (tests/e2e/test_secrets_hygiene.py) scans the file.
public enum FleetLog {
    /// Levels by name (`--log-level`, `FLEET_LOG`): trace, debug, info, notice, warning, error, critical.
    public static func level(named name: String) -> Logger.Level? {
        Logger.Level(rawValue: name.lowercased())
    }

    public static func defaultPath(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        XDGDirectories.fleet(.state, "fleet.log", environment: env)
    }

    /// Sends every `Logger` of this process to the log file (once per process; the first call wins).
    /// Without a usable file (read-only home), logging is off rather than on the terminal the UI owns.
    public static func bootstrap(level: Logger.Level, path: String = defaultPath(), maxBytes: Int = 1 << 20) {
        let file = LogFile(path: path, maxBytes: maxBytes)
        bootstrapOnce.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                guard let file else { return SwiftLogNoOpLogHandler(label) }
                var h = FileLogHandler(label: label, file: file)
                h.logLevel = level
                return h
            }
        }
    }

    private static let bootstrapOnce = Mutex(false)

    /// A logger for one part of fleet (`fleet.deploy`, `fleet.process`, `fleet.ui`).
    public static func logger(_ label: String) -> Logger { Logger(label: label) }

    /// The last line of defence: an age secret key (`AGE-SECRET-KEY-1…`, Bech32) never reaches the
    /// file even if a message carried one.
    static func mask(_ line: String) -> String {
        guard line.contains("AGE-SECRET-KEY-") else { return line }
        var out = ""
        var rest = Substring(line)
        while let r = rest.range(of: "AGE-SECRET-KEY-") {
            out += rest[..<r.lowerBound] + "AGE-SECRET-KEY-" + Redactor.mask
            rest = rest[r.upperBound...].drop { $0.isLetter || $0.isNumber }
        }
        return out + rest
    }
}

/// The open log file, shared by every handler of the process. Appends whole lines with one
/// `write(2)` on an `O_APPEND` descriptor, so concurrent fleet processes do not tear lines.
final class LogFile: Sendable {
    let path: String
    private let maxBytes: Int
    private let fd: Mutex<Int32>
    static let keep = 3

    init?(path: String, maxBytes: Int) {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        guard let fd = Self.open(path) else { return nil }
        self.path = path
        self.maxBytes = maxBytes
        self.fd = Mutex(fd)
    }

    deinit { fd.withLock { _ = close($0) } }

    private static func open(_ path: String) -> Int32? {
        let fd = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        return fd >= 0 ? fd : nil
    }

    func append(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        fd.withLock { fd in
            var st = stat()
            if fstat(fd, &st) == 0, Int(st.st_size) + bytes.count > maxBytes, st.st_size > 0 {
                rotate()
                if let fresh = Self.open(path) { close(fd); fd = fresh }
            }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// fleet.log → fleet.log.1 → … → fleet.log.3 (the oldest is dropped).
    private func rotate() {
        for i in stride(from: Self.keep - 1, through: 1, by: -1) {
            _ = rename("\(path).\(i)", "\(path).\(i + 1)")
        }
        _ = rename(path, path + ".1")
    }
}

struct FileLogHandler: LogHandler {
    let label: String
    let file: LogFile
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let m = event.metadata { all.merge(m) { $1 } }
        let meta = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stamp = Self.timestamp(Date())
        let text = "\(stamp) \(event.level) \(label): \(event.message)\(meta)"
        // One event is one line: a multi-line message (a stage's error output) keeps its lines indented.
        file.append(FleetLog.mask(text.utf8.contains(0x0A) ? text.replacingOccurrences(of: "\n", with: "\n    ") : text))
    }

    /// `date` as `Date.ISO8601FormatStyle(includingFractionalSeconds: true)` writes it
    /// (`2026-12-03T23:26:24.123Z`), by hand: the format style's first use set up Foundation's
    /// calendar machinery, ~1.5 ms of every CLI start (the first log line is written at start).
    /// Dates outside years 1...9999 take the format style.
    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let seconds = t.rounded(.down)
        guard seconds >= -62_135_596_800, seconds < 253_402_300_800, let whole = Int(exactly: seconds) else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        var time = whole
        var tm = tm()
        guard gmtime_r(&time, &tm) != nil else { return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        let millis = min(999, Int((t - seconds) * 1000))
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ v: Int, _ n: Int) {
            var d = 1
            for _ in 1..<n { d *= 10 }
            while d > 0 { out.append(UInt8(48 + (v / d) % 10)); d /= 10 }
        }
        digits(Int(tm.tm_year) + 1900, 4); out.append(0x2D); digits(Int(tm.tm_mon) + 1, 2); out.append(0x2D); digits(Int(tm.tm_mday), 2)
        out.append(0x54); digits(Int(tm.tm_hour), 2); out.append(0x3A); digits(Int(tm.tm_min), 2); out.append(0x3A); digits(Int(tm.tm_sec), 2)
        out.append(0x2E); digits(millis, 3); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }
}
