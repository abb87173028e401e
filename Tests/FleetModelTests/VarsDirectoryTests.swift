import XCTest
@testable import FleetModel

/// `VarsDirectory` reads public values with clan's `.strip()`; the fast ASCII path (make bench's
/// hotspot fix) must give exactly what the Foundation path gives.
final class VarsDirectoryTests: XCTestCase {
    private func value(_ bytes: [UInt8]) throws -> String? {
        let dir = try makeTempDir(self)
        let path = dir + "/vars/per-machine/m/gen/file/value"
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return VarsDirectory(root: dir).machineValue("m", generator: "gen", file: "file")
    }

    func testASCIIValuesAreStripped() throws {
        XCTAssertEqual(try value(Array(" \t10.0.0.1\r\n\u{0B}\u{0C}".utf8)), "10.0.0.1")
        XCTAssertEqual(try value(Array("a b\n".utf8)), "a b", "inner spaces stay")
    }

    func testBlankValueIsNil() throws {
        XCTAssertNil(try value(Array(" \n\n\t".utf8)))
        XCTAssertNil(try value([]))
    }

    func testNonASCIIValuesKeepUnicodeStripping() throws {
        XCTAssertEqual(try value(Array("\u{00A0}héllo wörld\u{2003}\n".utf8)), "héllo wörld")
    }

    func testInvalidUTF8IsNil() throws {
        XCTAssertNil(try value([0x31, 0xFF, 0xFE, 0x0A]))
    }

    func testMissingFileIsNil() throws {
        let dir = try makeTempDir(self)
        XCTAssertNil(VarsDirectory(root: dir).sharedValue(generator: "nope", file: "ip"))
    }

    func testDirectoryInPlaceOfAValueIsNil() throws {
        let dir = try makeTempDir(self)
        try FileManager.default.createDirectory(atPath: dir + "/vars/shared/g/ip/value", withIntermediateDirectories: true)
        XCTAssertNil(VarsDirectory(root: dir).sharedValue(generator: "g", file: "ip"))
    }

    func testValueOfExactlyTheSmallReadBufferIsReadWhole() throws {
        // `FileBytes.readSmall` reads 128 bytes at once; a value that fills them takes the general path.
        for n in [127, 128, 129, 256] {
            let v = String(repeating: "a", count: n)
            XCTAssertEqual(try value(Array(v.utf8)), v, "\(n) bytes")
        }
    }

    func testLargeValueIsReadWhole() throws {
        let big = String(repeating: "x", count: 10_000)
        XCTAssertEqual(try value(Array((big + "\n").utf8)), big)
    }
}
