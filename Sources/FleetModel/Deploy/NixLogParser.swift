import Foundation

/// Parser for nix's `--log-format internal-json` (peers.md §2.1): each record is one stderr line
/// `@nix {json}`; any other line is plain text (builder output in some modes, ssh, other programs) and
/// is passed through. Unknown actions and activity/result types are tolerated, never an error —
/// newer nix adds types (113 fetchToStore, result 109) that older consumers choke on.
public enum NixLogParser {
    public enum Field: Equatable, Sendable {
        case int(Int64)
        case string(String)
        public var int: Int64? { if case .int(let i) = self { return i } else { return nil } }
        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    }

    public enum Record: Equatable, Sendable {
        /// An activity begins. `parent` is 0 when absent (nix 2.8 does not write it).
        case start(id: UInt64, level: Int, type: Int, text: String, parent: UInt64, fields: [Field])
        case stop(id: UInt64)
        /// An update of a running activity (`fields` by result type, see peers.md §2.1).
        case result(id: UInt64, type: Int, fields: [Field])
        /// A message; `text` is the rendered `msg` with ANSI escapes removed.
        case message(level: Int, text: String)
        /// A well-formed record with an action we do not know.
        case other(action: String)
    }

    public enum Line: Equatable, Sendable {
        case record(Record)
        case plain(String)
    }

    public static let prefix = "@nix "

    /// A JSON number as Int64 without trapping: nix writes integers, but the line may come from a
    /// remote host; 1e300, -1e300 and NaN must not crash fleet (found by fuzz/run.sh nixlog,
    /// NixLogFuzzRegressionTests).
    static func clampedInt64(_ d: Double) -> Int64 {
        guard d.isFinite else { return 0 }
        if d >= 9_223_372_036_854_775_808.0 { return .max }
        if d <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(d)
    }

    /// One stderr line (without its newline). Never fails: malformed JSON after `@nix ` is returned
    /// as a plain line so nothing is lost.
    public static func parse(_ line: String) -> Line {
        guard line.hasPrefix(prefix) else { return .plain(line) }
        let body = line.dropFirst(prefix.count)
        guard let json = try? JSONParser.parse(String(body)), let o = json.objectValue,
              let action = o["action"]?.stringValue else { return .plain(line) }
        func u64(_ k: String) -> UInt64 {
            guard let v = o[k] else { return 0 }
            if let i = v.intValue, i >= 0 { return UInt64(i) }
            if let d = v.doubleValue, d >= 0, d < 1.8e19 { return UInt64(d) }
            return 0
        }
        func int(_ k: String) -> Int { o[k]?.intValue ?? 0 }
        func fields() -> [Field] {
            (o["fields"]?.arrayValue ?? []).map { f in
                if let s = f.stringValue { return .string(s) }
                if let i = f.intValue { return .int(Int64(i)) }
                if let d = f.doubleValue { return .int(clampedInt64(d)) }
                return .string("")
            }
        }
        switch action {
        case "start":
            return .record(.start(id: u64("id"), level: int("level"), type: int("type"),
                                  text: o["text"]?.stringValue ?? "", parent: u64("parent"), fields: fields()))
        case "stop":
            return .record(.stop(id: u64("id")))
        case "result":
            return .record(.result(id: u64("id"), type: int("type"), fields: fields()))
        case "msg":
            return .record(.message(level: int("level"), text: stripANSI(o["msg"]?.stringValue ?? "")))
        default:
            return .record(.other(action: action))
        }
    }

    /// Removes CSI escape sequences (`ESC [ … letter`), which nix puts around error text.
    public static func stripANSI(_ s: String) -> String {
        guard s.contains("\u{1B}") else { return s }
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "\u{1B}" {
                guard let n = it.next() else { break }
                if n == "[" {
                    while let x = it.next(), !(0x40...0x7E).contains(x.value) {}
                }
                continue
            }
            out.unicodeScalars.append(c)
        }
        return out
    }

    /// `/nix/store/<hash>-name.drv` → `name`.
    public static func derivationName(_ path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if name.count > 33, name[name.index(name.startIndex, offsetBy: 32)] == "-" { name = name.dropFirst(33) }
        if name.hasSuffix(".drv") { name = name.dropLast(4) }
        return String(name)
    }
}

/// Activity and result type numbers (nix `logging.hh`).
public enum NixActivityType {
    public static let copyPath = 100, fileTransfer = 101, realise = 102, copyPaths = 103, builds = 104
    public static let build = 105, substitute = 108
}

public enum NixResultType {
    public static let buildLogLine = 101, setPhase = 104, progress = 105, setExpected = 106, postBuildLogLine = 107
}

/// What a nix run has done so far, folded from its log records: builds done/total, the derivation
/// being built, paths copied, bytes downloaded. Feeds the deploy's progress events.
public struct NixProgress: Equatable, Sendable {
    public var buildsDone = 0, buildsExpected = 0, buildsRunning = 0, buildsFailed = 0
    /// Paths copied (substituted or `nix copy`) so far, and how many are expected.
    public var copiesDone = 0, copiesExpected = 0
    /// Bytes of downloads (fileTransfer) done and expected.
    public var downloadBytesDone: Int64 = 0, downloadBytesExpected: Int64 = 0
    /// Name of the derivation that started building last and is still running.
    public var currentDerivation: String?
    public var currentPhase: String?
    /// Error messages (level 0) nix printed.
    public var errors: [String] = []

    private var activities: [UInt64: (type: Int, name: String)] = [:]
    private var runningBuilds: [UInt64] = []
    private var transferDone: [UInt64: Int64] = [:]

    public init() {}

    public static func == (a: NixProgress, b: NixProgress) -> Bool {
        a.buildsDone == b.buildsDone && a.buildsExpected == b.buildsExpected && a.buildsRunning == b.buildsRunning
            && a.buildsFailed == b.buildsFailed && a.copiesDone == b.copiesDone && a.copiesExpected == b.copiesExpected
            && a.downloadBytesDone == b.downloadBytesDone && a.downloadBytesExpected == b.downloadBytesExpected
            && a.currentDerivation == b.currentDerivation && a.currentPhase == b.currentPhase && a.errors == b.errors
    }

    /// Folds one stderr line in; returns the human-readable log lines it stands for (nix `-L` style:
    /// builder output prefixed `name> `), empty for pure bookkeeping records.
    @discardableResult
    public mutating func consume(_ line: String) -> [String] {
        switch NixLogParser.parse(line) {
        case .plain(let text): return [text]
        case .record(let r): return apply(r)
        }
    }

    public mutating func apply(_ r: NixLogParser.Record) -> [String] {
        switch r {
        case let .start(id, level, type, text, _, fields):
            var name = ""
            if type == NixActivityType.build, let drv = fields.first?.string {
                name = NixLogParser.derivationName(drv)
                runningBuilds.append(id)
                currentDerivation = name
                currentPhase = nil
            } else if type == NixActivityType.copyPath, let p = fields.first?.string {
                name = NixLogParser.derivationName(p)
            } else if type == NixActivityType.copyPaths, let n = Self.leadingCount(text, prefix: "copying ") {
                copiesExpected = saturatingAdd(copiesExpected, n)  // nix copy: "copying N paths" (no progress results in nix 2.8)
            }
            activities[id] = (type, name)
            return level <= 3 && !text.isEmpty ? [text] : []
        case let .stop(id):
            guard let a = activities.removeValue(forKey: id) else { return [] }
            if a.type == NixActivityType.build {
                runningBuilds.removeAll { $0 == id }
                currentDerivation = runningBuilds.last.flatMap { activities[$0]?.name }
            } else if a.type == NixActivityType.copyPath {
                copiesDone = saturatingAdd(copiesDone, 1)
                if copiesExpected < copiesDone { copiesExpected = copiesDone }
            } else if a.type == NixActivityType.fileTransfer {
                transferDone.removeValue(forKey: id)
            }
            return []
        case let .result(id, type, fields):
            let ints = fields.compactMap(\.int)
            let act = activities[id]
            switch type {
            case NixResultType.buildLogLine, NixResultType.postBuildLogLine:
                guard let line = fields.first?.string else { return [] }
                let name = act?.name ?? ""
                return [name.isEmpty ? line : "\(name)> \(line)"]
            case NixResultType.setPhase:
                currentPhase = fields.first?.string
                return []
            case NixResultType.progress where ints.count >= 4:
                if act?.type == NixActivityType.builds {
                    buildsDone = Int(ints[0]); buildsExpected = Int(ints[1])
                    buildsRunning = Int(ints[2]); buildsFailed = Int(ints[3])
                } else if act?.type == NixActivityType.copyPaths, ints[1] > 0 {
                    copiesDone = Int(ints[0]); copiesExpected = Int(ints[1])
                } else if act?.type == NixActivityType.fileTransfer {
                    // Byte counts are never negative; both sides >= 0, so the difference cannot overflow.
                    let before = transferDone[id] ?? 0, now = max(0, ints[0])
                    transferDone[id] = now
                    downloadBytesDone = saturatingAdd(downloadBytesDone, now - before)
                }
                return []
            case NixResultType.setExpected where ints.count >= 2:
                if ints[0] == Int64(NixActivityType.fileTransfer) { downloadBytesExpected = ints[1] }
                return []
            default:
                return []
            }
        case let .message(level, text):
            if level == 0 { errors.append(text) }
            // Levels above info are nix's own chatter at -v; keep the log readable.
            return level <= 3 ? [text] : []
        case .other:
            return []
        }
    }

    /// Share of the work done, when nix has said how much there is.
    public var buildFraction: Double? {
        guard buildsExpected > 0 else { return nil }
        return min(1, Double(buildsDone) / Double(buildsExpected))
    }

    public var copyFraction: Double? {
        guard copiesExpected > 0 else { return nil }
        return min(1, Double(copiesDone) / Double(copiesExpected))
    }

    /// One line for a progress bar: `building 1/2 nixos-system-tb1 (buildPhase)`.
    public var buildSummary: String {
        var s = "built \(buildsDone)/\(buildsExpected)"
        if buildsFailed > 0 { s += ", \(buildsFailed) failed" }
        if let d = currentDerivation { s += ", building \(d)" + (currentPhase.map { " (\($0))" } ?? "") }
        if downloadBytesExpected > 0 { s += ", downloaded \(ByteCount.format(downloadBytesDone))/\(ByteCount.format(downloadBytesExpected))" }
        return s
    }

    private static func leadingCount(_ text: String, prefix: String) -> Int? {
        guard text.hasPrefix(prefix) else { return nil }
        return Int(text.dropFirst(prefix.count).prefix(while: \.isNumber))
    }
}

public enum ByteCount {
    /// `1.5 MiB`, `520 B`.
    public static func format(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }
}

/// Counters fed from remote input saturate instead of trapping on overflow.
func saturatingAdd<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? (b > 0 ? .max : .min) : r
}
