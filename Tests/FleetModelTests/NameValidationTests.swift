import XCTest
@testable import FleetModel

final class NameValidationTests: XCTestCase {
    private func reason(_ name: String, _ kind: NameKind) -> NameError.Reason? {
        do { try NameValidation.validate(name, as: kind); return nil }
        catch let e as NameError { return e.reason }
        catch { XCTFail("unexpected error \(error)"); return nil }
    }

    func testAcceptsTheDemoAndClanStyleNames() throws {
        for m in ["cinnabar", "electrum", "blackphos", "test-darwin-machine", "Web01", "a"] {
            XCTAssertNoThrow(try NameValidation.validate(m, as: .machine), m)
        }
        for t in ["all", "nixos", "darwin", "cloud", "gcp", "my_tag", "Tag-2"] {
            XCTAssertNoThrow(try NameValidation.validate(t, as: .tag), t)
        }
        for i in ["zerotier", "user-crs58", "emergency-access", "beads-ui"] {
            XCTAssertNoThrow(try NameValidation.validate(i, as: .instance), i)
        }
        for u in ["admin", "crs58", "_svc", "alice-2"] {
            XCTAssertNoThrow(try NameValidation.validate(u, as: .user), u)
        }
        for g in ["openssh", "zerotier", "user-password-alice", "state-version"] {
            XCTAssertNoThrow(try NameValidation.validate(g, as: .generator), g)
        }
        for f in ["ssh.id_ed25519", "ssh.id_ed25519.pub", "zerotier-ip", "user-password-hash", ".hidden"] {
            XCTAssertNoThrow(try NameValidation.validate(f, as: .file), f)
        }
    }

    func testRejectsEmpty() {
        for kind in NameKind.allCases { XCTAssertEqual(reason("", kind), .empty, kind.rawValue) }
    }

    func testRejectsSlash() {
        for kind in NameKind.allCases {
            XCTAssertEqual(reason("a/b", kind), .slash, kind.rawValue)
            XCTAssertEqual(reason("etc/", kind), .slash, kind.rawValue)
        }
        XCTAssertEqual(reason("/etc/passwd", .file), .slash)
    }

    func testRejectsDotDot() {
        for kind in NameKind.allCases { XCTAssertEqual(reason("..", kind), .dotDot, kind.rawValue) }
        XCTAssertEqual(reason("a..b", .file), .dotDot)
        XCTAssertEqual(reason("../../etc", .generator), .slash, "the slash is reported first")
    }

    func testRejectsSingleDot() {
        XCTAssertEqual(reason(".", .file), .disallowedCharacter("."))
        XCTAssertEqual(reason(".", .generator), .disallowedCharacter("."))
        XCTAssertEqual(reason("a.b", .machine), .disallowedCharacter("."))
    }

    func testRejectsShellMetacharacters() {
        for meta in [";", "&", "|", "$", "`", "\\", "\"", "'", "<", ">", "(", ")", "{", "}", "[", "]",
                     "*", "?", "!", "#", "~", "=", "%", "^", " "] {
            for kind in NameKind.allCases {
                XCTAssertEqual(reason("ab\(meta)cd", kind), .shellMetacharacter(Character(meta)),
                               "\(kind.rawValue) with \(meta)")
            }
        }
        XCTAssertEqual(reason("$(reboot)", .machine), .shellMetacharacter("$"))
        XCTAssertEqual(reason("x;rm -rf", .tag), .shellMetacharacter(";"))
    }

    func testRejectsControlCharacters() {
        for c in ["\n", "\r", "\t", "\u{0}", "\u{1B}", "\u{7F}", "\u{85}", "\u{2028}"] {
            for kind in NameKind.allCases {
                let r = reason("a\(c)b", kind)
                XCTAssertEqual(r, .controlCharacter(c.unicodeScalars.first!.value), "\(kind.rawValue) \(c.debugDescription)")
            }
        }
    }

    func testRejectsLeadingDash() {
        for kind in NameKind.allCases {
            XCTAssertEqual(reason("-rf", kind), .leadingDash, kind.rawValue)
            XCTAssertEqual(reason("--help", kind), .leadingDash, kind.rawValue)
        }
    }

    func testRejectsTrailingDashInMachineName() {
        XCTAssertEqual(reason("web-", .machine), .disallowedCharacter("-"))
        XCTAssertNoThrow(try NameValidation.validate("web-", as: .tag))
    }

    func testRejectsNonASCII() {
        XCTAssertEqual(reason("café", .machine), .disallowedCharacter("é"))
        XCTAssertEqual(reason("ｗeb", .tag), .disallowedCharacter("ｗ"))
        XCTAssertEqual(reason("a\u{301}", .file), .disallowedCharacter("a\u{301}"))
    }

    func testRejectsDisallowedPerKind() {
        XCTAssertEqual(reason("my_machine", .machine), .disallowedCharacter("_"))
        XCTAssertEqual(reason("Admin", .user), .disallowedCharacter("A"))
        XCTAssertEqual(reason("1admin", .user), .disallowedCharacter("1"))
        XCTAssertEqual(reason("a.b", .tag), .disallowedCharacter("."))
        XCTAssertEqual(reason("a:b", .file), .disallowedCharacter(":"))
        XCTAssertEqual(reason("a@b", .instance), .disallowedCharacter("@"))
    }

    func testRejectsTooLong() {
        XCTAssertNoThrow(try NameValidation.validate(String(repeating: "a", count: 63), as: .machine))
        XCTAssertEqual(reason(String(repeating: "a", count: 64), .machine), .tooLong(max: 63))
        XCTAssertEqual(reason(String(repeating: "a", count: 33), .user), .tooLong(max: 32))
        XCTAssertEqual(reason(String(repeating: "a", count: 256), .file), .tooLong(max: 255))
    }

    func testErrorNamesKindAndEscapedValue() {
        do {
            try NameValidation.validate("evil\u{1B}[2J\nname", as: .generator)
            XCTFail("accepted")
        } catch let e as NameError {
            let text = e.description
            XCTAssertTrue(text.hasPrefix(#"invalid generator name "evil\u{1B}[2J\nname": "#), text)
            XCTAssertTrue(text.contains("control character U+001B"), text)
            XCTAssertFalse(text.contains("\u{1B}"))
            XCTAssertFalse(text.contains("\n"))
        } catch { XCTFail("\(error)") }
        let slash = NameError(kind: .machine, value: "a/b", reason: .slash)
        XCTAssertEqual(slash.description, #"invalid machine name "a/b": contains '/'"#)
    }
}
