import Dispatch
import Foundation
import Synchronization

/// The byte-level scanner behind `JSONDocument` and `JSONParser`: validates RFC 8259 and records a
/// tape entry per value and key. Works on an unsafe pointer over the text (no bounds-checked array
/// access, no per-string buffers); a string's bytes are only copied when it is materialised. The
/// checks, their order and the error positions are those of the recursive parser it replaced
/// (JSONParserTests compare both on the fixtures and the fuzz corpus).
///
/// A large text is scanned on several cores (`scan(_:parts:)`): the text is cut after a comma at
/// the start of a line (a newline is never inside a valid string, so it lies between two tokens), and
/// each later piece is scanned on a thread of its own as the continuation of an object or array
/// from there, up to its container's end or the next cut. The sequential scan takes a piece's tape
/// only when it arrives at exactly that byte at the top of an object's (array's) member loop, with
/// the piece scanned as the same kind of container and within the nesting limit: from that state
/// the scan is a deterministic function of the bytes, so the piece's tape is the one it would have
/// made. Anything else (a cut that fell elsewhere, a piece that failed) is scanned again in
/// sequence, so values and errors are exactly the sequential scan's (JSONScannerSplitTests).
struct JSONScanner {
    private let p: UnsafePointer<UInt8>
    private let n: Int
    private var pos = 0
    private var depth = 0
    private var tape: [JSONDocument.Entry] = []
    /// Pieces scanned on other threads, by start, and the start of the next one not passed yet.
    private var pieces: [Piece] = []
    private var nextPiece = 0
    private var nextCut = Int.max
    /// A piece's scan: the deepest nesting below the piece's own level.
    private var deepest = 0
    /// Scanning a piece: errors are only "failed" (the sequential scan reports them), not located.
    private var inPiece = false
    /// Pieces taken (for tests).
    private var taken = 0

    /// From this size on, a text is scanned in parts on several cores.
    static let parallelBytes = 1 << 20
    /// The smallest part worth a thread of its own.
    static let minimumPartBytes = 256 << 10

    static func scan(_ bytes: [UInt8]) throws -> [JSONDocument.Entry] {
        let parts = bytes.count < parallelBytes ? 1
            : min(ProcessInfo.processInfo.activeProcessorCount, 4, bytes.count / minimumPartBytes)
        return try scan(bytes, parts: parts)
    }

    /// Scans in up to `parts` pieces (cut points from `cuts(_:_:parts:)`).
    static func scan(_ bytes: [UInt8], parts: Int) throws -> [JSONDocument.Entry] {
        try scan(bytes) { p, n in parts > 1 ? cuts(p, n, parts: parts) : [] }.tape
    }

    /// Scans with pieces starting at `starts` (byte offsets, any: a start that is not a member's
    /// first byte is simply never taken), and says how many pieces were taken. For tests: `inline`
    /// scans the pieces first on this thread, so which are taken does not depend on timing.
    static func scan(_ bytes: [UInt8], starts: [Int], inline: Bool) throws -> (tape: [JSONDocument.Entry], taken: Int) {
        try scan(bytes, inline: inline) { _, n in Array(Set(starts.filter { $0 > 0 && $0 < n })).sorted() }
    }

    /// The pieces' starts of a text (`cuts`), for tests.
    static func cuts(_ bytes: [UInt8], parts: Int) -> [Int] {
        bytes.withUnsafeBufferPointer { $0.baseAddress.map { cuts($0, bytes.count, parts: parts) } ?? [] }
    }

    private static func scan(_ bytes: [UInt8], inline: Bool = false,
                             starts: (UnsafePointer<UInt8>, Int) -> [Int]) throws -> (tape: [JSONDocument.Entry], taken: Int) {
        guard bytes.count < Int(UInt32.max) else {
            throw JSONSyntaxError(line: 1, column: 1, message: "document larger than 4 GiB")
        }
        return try bytes.withUnsafeBufferPointer { buf in
            // An empty array has no base address; any valid pointer will do for zero bytes.
            let empty: [UInt8] = [0]
            return try empty.withUnsafeBufferPointer { e in
                var s = JSONScanner(p: buf.baseAddress ?? e.baseAddress!, n: buf.count)
                s.start(starts(s.p, s.n), inline: inline)
                // Every piece is finished or abandoned before the bytes can go away.
                defer { s.finishPieces() }
                // Roughly one entry per 12 bytes of a pretty-printed inventory.
                s.tape.reserveCapacity(buf.count / 12 + 4)
                s.skipWhitespace()
                // A UTF-8 byte order mark is tolerated, as Python's json module does not but editors write it.
                if s.n >= 3, s.p[0] == 0xEF, s.p[1] == 0xBB, s.p[2] == 0xBF { s.pos = 3 }
                try s.value()
                s.skipWhitespace()
                guard s.pos == s.n else { throw s.error("unexpected text after the JSON value") }
                return (s.tape, s.taken)
            }
        }
    }

    private init(p: UnsafePointer<UInt8>, n: Int) {
        self.p = p
        self.n = n
    }

    // MARK: pieces

    /// A piece's scan, done on another thread: its entries (container ends relative to the piece),
    /// the members it read at its own level, where it stopped (its container's closing bracket, or
    /// the next piece's start) and the deepest nesting below its level; nil when it failed.
    struct Scanned: Sendable {
        var tape: [JSONDocument.Entry]
        var object: Bool
        var count: Int
        var end: Int
        var atNextCut: Bool
        var deepest: Int
    }

    /// A piece handed to a thread. The thread runs it unless the sequential scan abandoned it before
    /// it started (then nobody waits for it: no deadlock when no thread is free).
    final class Piece: @unchecked Sendable {
        let start: Int
        private let state = Atomic<Int>(0)   // 0 waiting, 1 running, 2 abandoned
        private let done = DispatchSemaphore(value: 0)
        /// Written by the running thread before `done` is signalled, read after waiting for it.
        private var result: Scanned?

        init(start: Int) { self.start = start }

        func run(_ body: () -> Scanned?) {
            guard state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else { return }
            result = body()
            done.signal()
        }

        /// The piece's scan (waiting for it when it runs), or nil when it never started (it will not now).
        func take() -> Scanned? {
            if state.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged { return nil }
            done.wait()
            done.signal()
            return result
        }
    }

    /// The text's bytes, for the threads (alive until `finishPieces` returned).
    private struct Text: @unchecked Sendable { let p: UnsafePointer<UInt8>; let n: Int }

    /// Starts a thread per piece (its own, not a pool's: the pool's threads may all be busy, and a
    /// piece that has not started when the scan reaches it is scanned in sequence instead).
    private mutating func start(_ starts: [Int], inline: Bool) {
        guard !starts.isEmpty else { return }
        pieces = starts.map { Piece(start: $0) }
        nextCut = starts[0]
        let text = Text(p: p, n: n)
        for (i, piece) in pieces.enumerated() {
            let stop = i + 1 < starts.count ? starts[i + 1] : Int.max
            let work: @Sendable () -> Void = {
                piece.run {
                    var s = JSONScanner(p: text.p, n: text.n)
                    s.pos = piece.start
                    s.inPiece = true
                    s.tape.reserveCapacity(((stop == Int.max ? text.n : stop) - piece.start) / 12 + 4)
                    return try? s.piece(stop: stop)
                }
            }
            if inline { work() } else { BackgroundThread.start(work) }
        }
    }

    /// Waits for the pieces still running (they read the text) and abandons the others.
    private mutating func finishPieces() {
        while nextPiece < pieces.count { _ = pieces[nextPiece].take(); nextPiece += 1 }
    }

    /// At the top of a member loop, `pos` on a member's first byte: takes the piece starting here (when
    /// it was scanned as this kind of container within the nesting limit) — its entries appended, its
    /// members added to `count`, `pos` where it stopped — and passes pieces that start before `pos`.
    /// Where a taken piece left `pos`; nil when none was taken.
    private enum Taken { case atNextCut, atClose }

    private mutating func takePiece(object: Bool, count: inout Int) -> Taken? {
        while nextPiece < pieces.count, pieces[nextPiece].start < pos {
            _ = pieces[nextPiece].take()   // passed: its start was not a member here
            nextPiece += 1
        }
        guard nextPiece < pieces.count, pieces[nextPiece].start == pos else {
            nextCut = nextPiece < pieces.count ? pieces[nextPiece].start : Int.max
            return nil
        }
        let scanned = pieces[nextPiece].take()
        nextPiece += 1
        nextCut = nextPiece < pieces.count ? pieces[nextPiece].start : Int.max
        guard let s = scanned, s.object == object, depth + s.deepest <= JSONParser.maxDepth else { return nil }
        let base = UInt32(truncatingIfNeeded: tape.count)
        for var e in s.tape {
            if e.kind == .array || e.kind == .object { e.b &+= base }
            tape.append(e)
        }
        count += s.count
        pos = s.end
        taken += 1
        return s.atNextCut ? .atNextCut : .atClose
    }

    /// Scans from `pos` as the continuation of an object (a string followed by ':') or an array,
    /// after a comma: members up to the container's closing bracket (not consumed) or to `stop` (the
    /// next piece's start) at the top of the member loop.
    private mutating func piece(stop: Int) throws -> Scanned {
        let object: Bool
        if pos < n, p[pos] == UInt8(ascii: "\"") {
            try string()
            skipWhitespace()
            object = pos < n && p[pos] == UInt8(ascii: ":")
            if object { pos += 1; try value() }
        } else {
            object = false
            try value()
        }
        var count = 1
        while true {
            skipWhitespace()
            guard pos < n else { throw error("unterminated") }
            if p[pos] == UInt8(ascii: object ? "}" : "]") {
                return Scanned(tape: tape, object: object, count: count, end: pos, atNextCut: false, deepest: deepest)
            }
            guard p[pos] == UInt8(ascii: ",") else { throw error("expected ','") }
            pos += 1
            skipWhitespace()
            if pos == stop {
                return Scanned(tape: tape, object: object, count: count, end: pos, atNextCut: true, deepest: deepest)
            }
            if object { try memberKey() }
            try value()
            count += 1
        }
    }

    /// Where to cut a text into `parts` pieces: near each k/parts of it, the first line of least
    /// indentation (in the next 64 kB) that follows a comma and starts a value or a key — in a
    /// pretty-printed inventory, the next machine.
    static func cuts(_ p: UnsafePointer<UInt8>, _ n: Int, parts: Int) -> [Int] {
        var out: [Int] = []
        for k in 1..<max(1, parts) {
            let from = n * k / parts, to = min(n, from + (64 << 10))
            var best: (indent: Int, at: Int)?
            var i = from
            while i < to {
                guard let nl = memchr(p + i, 0x0A, to - i) else { break }
                let at = UnsafePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - p
                i = at + 1
                var j = at + 1
                while j < n, p[j] == 0x20 || p[j] == 0x09 || p[j] == 0x0D { j += 1 }
                guard j < n, best.map({ j - at - 1 < $0.indent }) ?? true else { continue }
                switch p[j] {
                case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "-"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): break
                default: continue
                }
                var b = at - 1
                while b >= 0, p[b] == 0x20 || p[b] == 0x09 || p[b] == 0x0D || p[b] == 0x0A { b -= 1 }
                guard b >= 0, p[b] == UInt8(ascii: ",") else { continue }
                best = (j - at - 1, j)
            }
            if let best, best.at > (out.last ?? 0) { out.append(best.at) }
        }
        return out
    }

    private func error(_ message: String) -> JSONSyntaxError {
        if inPiece { return JSONSyntaxError(line: 0, column: 0, message: message) }
        var line = 1, col = 1
        for i in 0..<min(pos, n) {
            let b = p[i]
            if b == UInt8(ascii: "\n") { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 }
        }
        return JSONSyntaxError(line: line, column: col, message: message)
    }

    /// An object member's key and its ':' (the piece scan and the object scan read members alike).
    @inline(__always)
    private mutating func memberKey() throws {
        guard pos < n, p[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
        try string()
        skipWhitespace()
        guard pos < n, p[pos] == UInt8(ascii: ":") else { throw error("expected ':' after key") }
        pos += 1
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < n {
            switch p[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func emit(_ kind: JSONDocument.Kind, _ a: Int = 0, _ b: Int = 0, escaped: Bool = false) {
        tape.append(JSONDocument.Entry(kind: kind, escaped: escaped, a: UInt32(truncatingIfNeeded: a), b: UInt32(truncatingIfNeeded: b)))
    }

    private mutating func value() throws {
        skipWhitespace()
        guard pos < n else { throw error("unexpected end of input") }
        switch p[pos] {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true"); emit(.true)
        case UInt8(ascii: "f"): try literal("false"); emit(.false)
        case UInt8(ascii: "n"): try literal("null"); emit(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(p[pos])))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let w = word.utf8Start, k = word.utf8CodeUnitCount
        var ok = n - pos >= k
        if ok { for i in 0..<k where p[pos + i] != w[i] { ok = false; break } }
        guard ok else { throw error("invalid literal, expected \(word)") }
        pos += k
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        if depth > deepest { deepest = depth }
    }

    /// Appends a container entry now and fills in its count and end when it closes.
    private mutating func close(_ at: Int, count: Int) {
        tape[at].a = UInt32(truncatingIfNeeded: count)
        tape[at].b = UInt32(truncatingIfNeeded: tape.count)
    }

    private mutating func object() throws {
        try enter(); defer { depth -= 1 }
        let at = tape.count
        emit(.object)
        pos += 1
        var count = 0
        skipWhitespace()
        if pos < n, p[pos] == UInt8(ascii: "}") { pos += 1; close(at, count: 0); return }
        while true {
            skipWhitespace()
            if pos >= nextCut, let taken = takePiece(object: true, count: &count) {
                if taken == .atNextCut { continue }
            } else {
                try memberKey()
                try value()
                count += 1
            }
            skipWhitespace()
            guard pos < n else { throw error("unterminated object") }
            if p[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if p[pos] == UInt8(ascii: "}") { pos += 1; close(at, count: count); return }
            throw error("expected ',' or '}' in object")
        }
    }

    private mutating func array() throws {
        try enter(); defer { depth -= 1 }
        let at = tape.count
        emit(.array)
        pos += 1
        var count = 0
        skipWhitespace()
        if pos < n, p[pos] == UInt8(ascii: "]") { pos += 1; close(at, count: 0); return }
        while true {
            skipWhitespace()
            if pos >= nextCut, let taken = takePiece(object: false, count: &count) {
                if taken == .atNextCut { continue }
            } else {
                try value()
                count += 1
            }
            skipWhitespace()
            guard pos < n else { throw error("unterminated array") }
            if p[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if p[pos] == UInt8(ascii: "]") { pos += 1; close(at, count: count); return }
            throw error("expected ',' or ']' in array")
        }
    }

    private mutating func number() throws {
        let start = pos
        if p[pos] == UInt8(ascii: "-") { pos += 1 }
        @inline(__always) func digits() -> Int {
            let s = pos
            while pos < n, p[pos] &- UInt8(ascii: "0") < 10 { pos += 1 }
            return pos - s
        }
        guard pos < n else { throw error("invalid number") }
        if p[pos] == UInt8(ascii: "0") { pos += 1 } else if digits() == 0 { throw error("invalid number") }
        if pos < n, p[pos] == UInt8(ascii: ".") {
            pos += 1
            if digits() == 0 { throw error("invalid number: digits expected after '.'") }
        }
        if pos < n, p[pos] == UInt8(ascii: "e") || p[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < n, p[pos] == UInt8(ascii: "+") || p[pos] == UInt8(ascii: "-") { pos += 1 }
            if digits() == 0 { throw error("invalid number: digits expected in exponent") }
        }
        emit(.number, start, pos)
    }

    private mutating func hex4() throws -> UInt32 {
        guard n - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = Self.hexDigit(p[pos]) else { throw error("invalid hex digit in \\u escape") }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    @inline(__always)
    static func hexDigit(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Records the string's byte range; escapes are checked here and decoded only on materialisation.
    private mutating func string() throws {
        pos += 1
        let start = pos
        var high: UInt8 = 0
        var escaped = false
        while true {
            // The common case: a run of plain bytes.
            while pos < n {
                let b = p[pos]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                high |= b
                pos += 1
            }
            guard pos < n else { throw error("unterminated string") }
            let b = p[pos]
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw error("control character in string") }
            escaped = true
            pos += 1
            guard pos < n else { throw error("unterminated escape") }
            let e = p[pos]; pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard n - pos >= 6, p[pos] == UInt8(ascii: "\\"), p[pos + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate") }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate in \\u escape")
                }
            default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        let end = pos
        pos += 1
        if high >= 0x80 {
            let raw = UnsafeBufferPointer(start: p + start, count: end - start)
            let valid = escaped ? Self.isValidUTF8(Self.unescape(raw)) : Self.isValidUTF8(raw)
            guard valid else { throw error("invalid UTF-8 in string") }
        }
        emit(.string, start, end, escaped: escaped)
    }

    /// Decodes the escapes of string content the scanner accepted.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexDigit(raw[at + $1]) ?? 0) }
        }
        while i < raw.count {
            let b = raw[i]
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(i + 2) - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }

    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    static func isValidUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        // Unicode Standard table 3-7 (well-formed UTF-8 byte sequences), which Swift's
        // String(validating:) also implements.
        while let b0 = it.next() {
            if b0 < 0x80 { continue }
            let (count, lo, hi): (Int, UInt8, UInt8)
            switch b0 {
            case 0xC2...0xDF: (count, lo, hi) = (1, 0x80, 0xBF)
            case 0xE0: (count, lo, hi) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (count, lo, hi) = (2, 0x80, 0xBF)
            case 0xED: (count, lo, hi) = (2, 0x80, 0x9F)
            case 0xF0: (count, lo, hi) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (count, lo, hi) = (3, 0x80, 0xBF)
            case 0xF4: (count, lo, hi) = (3, 0x80, 0x8F)
            default: return false
            }
            guard let b1 = it.next(), b1 >= lo, b1 <= hi else { return false }
            for _ in 1..<count {
                guard let b = it.next(), b & 0xC0 == 0x80 else { return false }
            }
        }
        return true
    }
}
