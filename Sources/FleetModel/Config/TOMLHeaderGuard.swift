/// Rejects input on which toml++ 3 (inside TOMLKit) only *asserts* instead of reporting an error:
/// the assert aborts the process in a debug build and is undefined behaviour in a release build
/// (`TOML_ASSERT_ASSUME` becomes `__builtin_assume`). Both were found by fuzzing (fuzz/run.sh config),
/// see ConfigFuzzRegressionTests:
/// - a table header whose first character does not start a key (`[=]`, `[ + ]`, `[é]`): toml++ goes
///   from `[`/`[[` and blanks straight into `parse_key()`;
/// - a closing bracket that does not match the open one (`x = [}`): `parse_array()` hands `}` to
///   `parse_value()`. A mismatched or stray closer is never valid TOML, so refusing it loses nothing.
/// The scanner tracks strings, comments and open brackets the way toml++ does.
enum TOMLHeaderGuard {
    enum Problem: Equatable { case header, bracket }

    /// Returns the 1-based line of the first table header toml++ would misparse, or nil.
    static func firstBadHeader(_ text: String) -> Int? { firstProblem(text)?.line }

    static func firstProblem(_ text: String) -> (line: Int, problem: Problem)? {
        let b = Array(text.utf8)
        // toml++ skips a UTF-8 byte order mark, so the first line still starts after it.
        var i = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0, line = 1
        var open: [UInt8] = [] // open [ and { of a value (arrays, inline tables) — may span lines
        var atLineStart = true // only blanks seen since the last newline (outside values)
        func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        func startsKey(_ c: UInt8) -> Bool {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                 UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]"):
                return true
            default:
                return false  // includes end of input, which toml++ reports as an error itself
            }
        }
        /// Skips a string starting at i (quote q), counting newlines; returns the index after it.
        func skipString(_ start: Int, _ q: UInt8) -> Int {
            var k = start
            let multi = at(k + 1) == q && at(k + 2) == q
            k += multi ? 3 : 1
            while k < b.count {
                let c = b[k]
                if c == 0x0A { line += 1; if !multi { return k } }
                if c == UInt8(ascii: "\\") && q == UInt8(ascii: "\"") { k += 2; continue }
                if c == q {
                    if !multi { return k + 1 }
                    if at(k + 1) == q && at(k + 2) == q {
                        var e = k + 3
                        while at(e) == q && e < k + 5 { e += 1 }  // up to two quotes may close it
                        return e
                    }
                }
                k += 1
            }
            return k
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case 0x0A:
                line += 1
                if open.isEmpty { atLineStart = true }
                i += 1
            case _ where isBlank(c) || c == 0x0D:
                i += 1
            case UInt8(ascii: "#"):
                while i < b.count && b[i] != 0x0A { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                atLineStart = false
                i = skipString(i, c)
            case UInt8(ascii: "[") where open.isEmpty && atLineStart:
                var k = i + 1
                if at(k) == UInt8(ascii: "[") { k += 1 }
                while isBlank(at(k)) { k += 1 }
                if k < b.count && !startsKey(at(k)) { return (line, .header) }
                atLineStart = false
                // The rest of the header line is a key; strings in it are skipped by the loop.
                i = k
                while i < b.count && b[i] != 0x0A && b[i] != UInt8(ascii: "#") {
                    if b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") { i = skipString(i, b[i]) } else { i += 1 }
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if !atLineStart { open.append(c) }
                atLineStart = false
                i += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                let opener = c == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
                guard open.last == opener else { return (line, .bracket) }
                open.removeLast()
                atLineStart = false
                i += 1
            default:
                atLineStart = false
                i += 1
            }
        }
        return nil
    }
}
