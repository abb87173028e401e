/// age's ASCII armor (c2sp.org/age, "ASCII armor"): strict PEM-like base64, 64 columns.
enum AgeArmor {
    static let header = "-----BEGIN AGE ENCRYPTED FILE-----"
    static let footer = "-----END AGE ENCRYPTED FILE-----"
    static let maxWhitespace = 1024

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// Whether input looks armored, as the `age` CLI decides: after leading whitespace it starts
    /// with the BEGIN line. nil = cannot tell yet (need more bytes).
    static func detect(_ prefix: [UInt8], atEOF: Bool) -> Bool? {
        let h = Array(header.utf8)
        guard let start = prefix.firstIndex(where: { !isSpace($0) }) else {
            return (atEOF || prefix.count > maxWhitespace) ? false : nil
        }
        if start > maxWhitespace { return false }
        let rest = prefix[start...]
        for (a, b) in zip(rest, h) where a != b { return false }
        if rest.count >= h.count { return true }
        return atEOF ? false : nil
    }

    /// Byte-exact with Go's `armor.Writer`: padded base64 at 64 columns, no empty line before
    /// END (age#263), trailing LF.
    final class Encoder {
        private var pending: [UInt8] = []
        init() {}

        func begin() -> [UInt8] { Array((header + "\n").utf8) }

        func update(_ bytes: [UInt8]) -> [UInt8] {
            pending += bytes
            let full = pending.count / 48 * 48
            guard full > 0 else { return [] }
            var out: [UInt8] = []
            out.reserveCapacity(full / 48 * 65)
            var i = 0
            while i < full {
                out += Base64Strict.encodeBytes(pending[i..<i + 48], padded: true)
                out.append(0x0A)
                i += 48
            }
            pending.removeFirst(full)
            return out
        }

        func finish() -> [UInt8] {
            var out: [UInt8] = []
            if !pending.isEmpty {
                out += Base64Strict.encodeBytes(pending, padded: true)
                out.append(0x0A)
                pending = []
            }
            return out + Array((footer + "\n").utf8)
        }
    }

    /// Incremental decoder with the strictness of Go's `armor.NewReader` (and the CCTV vectors).
    final class Decoder {
        private enum State { case start, body, expectFooter, trailing, failed }
        private var state = State.start
        private var line: [UInt8] = []
        private var leadingWhitespace = 0
        private var trailingBytes = 0

        init() {}

        func update(_ bytes: [UInt8]) throws -> [UInt8] {
            var out: [UInt8] = []
            for b in bytes {
                if state == .trailing {
                    trailingBytes += 1
                    if !isSpace(b) { state = .failed; throw AgeError.armor("trailing data after the END line") }
                    if trailingBytes >= maxWhitespace { state = .failed; throw AgeError.armor("too much trailing whitespace") }
                    continue
                }
                if b == 0x0A {
                    try process(line, into: &out)
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(b)
                    if line.count > 4096 { state = .failed; throw AgeError.armor("line too long") }
                }
            }
            return out
        }

        func finish() throws -> [UInt8] {
            var out: [UInt8] = []
            if state != .trailing && !(line.isEmpty && state == .failed) {
                if !line.isEmpty { try process(line, into: &out); line = [] }
            }
            switch state {
            case .trailing: return out
            case .start: throw AgeError.armor("no BEGIN line")
            case .body, .expectFooter: throw AgeError.armor("unexpected end of input before the END line")
            case .failed: throw AgeError.armor("decoder already failed")
            }
        }

        private func fail(_ m: String) -> AgeError { state = .failed; return AgeError.armor(m) }

        private func process(_ raw: [UInt8], into out: inout [UInt8]) throws {
            var l = raw[...]
            if l.last == 0x0D { l = l.dropLast() }
            switch state {
            case .start:
                if l.allSatisfy(isSpace) {
                    leadingWhitespace += raw.count + 1
                    if leadingWhitespace > maxWhitespace { throw fail("too much leading whitespace") }
                    return
                }
                guard l.elementsEqual(header.utf8) else { throw fail("invalid first line, expected \(header)") }
                state = .body
            case .body:
                if l.elementsEqual(footer.utf8) { state = .trailing; return }
                if l.isEmpty { throw fail("empty line in armored data") }
                if l.count > 64 { throw fail("line longer than 64 columns") }
                guard let d = Base64Strict.decode(l, padded: true) else { throw fail("invalid base64 line") }
                out += d
                if d.count < 48 { state = .expectFooter }
            case .expectFooter:
                guard l.elementsEqual(footer.utf8) else { throw fail("invalid closing line, expected \(footer)") }
                state = .trailing
            case .trailing:
                break
            case .failed:
                throw AgeError.armor("decoder already failed")
            }
        }
    }
}
