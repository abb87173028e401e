import Foundation
import Synchronization
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

/// `FileBytes.fill(shortReadEnds:)`, as `VarsReadRecorder.read` uses it for regular files: the
/// first short read is the end, no read(2) waits for EOF (on a pipe whose writer is still open, a
/// read for EOF would block: the fill must return without it).
final class FileBytesShortReadTests: XCTestCase {
    func testAShortReadEndsTheFill() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        XCTAssertEqual(write(fds[1], "abc", 3), 3)
        let reader = fds[0]
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<[UInt8]?>(nil)
        DispatchQueue.global().async {
            let bytes = FileBytes.fill(reader, capacity: 10, stopAt: -1, shortReadEnds: true)
            result.withLock { $0 = bytes }
            done.signal()
        }
        guard done.wait(timeout: .now() + 5) == .success else {
            XCTFail("fill waited for EOF after a short read")
            close(fds[1]); fds[1] = -1   // EOF: the fill returns, the test ends
            _ = done.wait(timeout: .now() + 5)
            return
        }
        XCTAssertEqual(result.withLock { $0 }, Array("abc".utf8))
        // A regular file: its bytes, and one byte more asked for than it holds.
        let path = try makeTempDir(self) + "/v"
        try writeFile(path, "10.0.0.1\n")
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(FileBytes.fill(fd, capacity: 10, stopAt: -1, shortReadEnds: true), Array("10.0.0.1\n".utf8))
    }
}
