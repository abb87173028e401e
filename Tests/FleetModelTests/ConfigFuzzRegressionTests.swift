import Foundation
import XCTest
@testable import FleetModel

/// Inputs the config fuzzer (fuzz/run.sh config) found crashing, kept as regression tests. Each must
/// now end in a ConfigError naming the file and line — before the fix, toml++'s assert aborted the
/// whole process (debug build) or hit undefined behaviour (release build).
final class ConfigFuzzRegressionTests: XCTestCase {
    private func assertConfigError(_ text: String, line: Int, saying phrase: String = "table header",
                                   file: StaticString = #filePath, lineNo: UInt = #line) {
        for parse in [{ _ = try ThemeSpec.parse(text, file: "theme.toml") }, { _ = try FleetConfig.parse(text, file: "config.toml") }] {
            XCTAssertThrowsError(try parse(), file: file, line: lineNo) { error in
                guard let e = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: lineNo) }
                XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNo)
                XCTAssertTrue(e.message.contains(phrase), "\(e)", file: file, line: lineNo)
            }
        }
    }

    func testTableHeaderStartingWithNonKeyCharacterIsAnError() {
        assertConfigError("[=]\n", line: 1)
        assertConfigError("name = \"x\"\n\n[ + ]\n", line: 3)
        assertConfigError("[[ ,]]\n", line: 1)
    }

    func testTableHeaderWithNonASCIIKeyIsAnError() {
        assertConfigError("[é]\n", line: 1)
        assertConfigError("[\u{FFFD}tyles]\n", line: 1)
    }

    /// Second fuzzer find: a byte order mark before the header (toml++ skips it).
    func testTableHeaderAfterByteOrderMarkIsChecked() {
        assertConfigError("\u{FEFF}[\t!", line: 1)
    }

    /// Third fuzzer find: `parse_array()` handed a `}` to `parse_value()`, which asserts.
    func testMismatchedClosingBracketIsAnError() {
        assertConfigError("[keys]\nrotate = [}vc\"r\", \"ctrl-r\"]\n", line: 2, saying: "closing bracket")
        assertConfigError("x = ]\n", line: 1, saying: "closing bracket")
        assertConfigError("x = { a = [1}\n", line: 1, saying: "closing bracket")
        assertConfigError("x = [\n  1,\n  }\n", line: 3, saying: "closing bracket")
    }

    /// The exact input the fuzzer produced (a mutated themes/light.toml).
    func testFuzzerCrashInput1() {
        let b64 = "I9y5b3IgbGlnaHQgdGVybWluYWwgYmFja2dyb3VuZHMuCm5hbWUgPSAibGlnaHQiCgpbmHR5bGVzIyNGb3ogbGlnbCANICAgICA9IHv/////////CSBmZyA9ICJkZWZhdWx0IiwgYmcgPSAiIyBmbGVldHMgZGVmRWF1bHQgZGFyayB0aGRlZmVdCmJhc2UgICAgICAgID0ge/////////8JIGZnID0gImRlZmF1bHQiLCBiZyA9ICIjIGZsZWV0J3MgZGVmYXVsdCBkYXJjdXJoZGVmZW0="
        let text = String(decoding: Data(base64Encoded: b64)!, as: UTF8.self)
        assertConfigError(text, line: 4)
    }

    /// Headers and bracket lines that are fine must still parse: the guard only looks at real headers.
    func testValidHeadersAndArrayLinesStillParse() throws {
        let text = """
        name = "t"
        # [=] in a comment
        note = "[=] in a string"
        multi = \"\"\"
        [=] in a multi-line string
        \"\"\"
        [styles]
        base = { fg = "default", bg = "default" }
        ["styles".header]
        fg = "red"
        """
        XCTAssertNil(TOMLHeaderGuard.firstBadHeader(text))
        XCTAssertNil(TOMLHeaderGuard.firstBadHeader("x = [\n  [ +1, 2],\n  [\"a\"],\n]\n[t]\n"))
        XCTAssertNil(TOMLHeaderGuard.firstBadHeader("[ a ]\n[[ 'b' ]]\n[\tc.d]\n"))
    }
}
