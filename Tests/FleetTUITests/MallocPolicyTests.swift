import Foundation
import XCTest
@testable import FleetTUI
import CNcursesShim

/// The dashboard's allocator policy (`MallocPolicy`): once a multi-megabyte block has been freed,
/// glibc's default (dynamic) mmap threshold serves every later block below that size from the heap
/// arenas, whose freed pages stay resident. With the policy, a block above 512 KiB still gets its own
/// mapping after a 24 MiB one was freed, and a frame-sized block does not.
final class MallocPolicyTests: XCTestCase {
    /// glibc's chunk header: the size word just before the block, whose bit 1 is IS_MMAPPED.
    private func isMapped(_ p: UnsafeMutableRawPointer) -> Bool {
        (p - MemoryLayout<Int>.size).load(as: UInt.self) & 2 != 0
    }

    /// Run in a process of its own (this test binary, this one test): the check needs arenas with
    /// less free memory than the big block, and earlier tests in this process can leave more (25.6 MB
    /// once in a fresh-clone CI run, which failed it).
    func testBlocksAboveTheThresholdKeepTheirOwnMappingAfterABigFree() throws {
        #if canImport(Glibc)
        let childFlag = "FLEET_MALLOC_POLICY_TEST_CHILD"
        if ProcessInfo.processInfo.environment[childFlag] == nil {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["FleetTUITests.MallocPolicyTests/testBlocksAboveTheThresholdKeepTheirOwnMappingAfterABigFree"]
            p.environment = ProcessInfo.processInfo.environment.merging([childFlag: "1"]) { $1 }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, text)
            XCTAssertTrue(text.contains("Executed 1 test, with 0 failures"), text)   // it ran, and passed
            return
        }
        MallocPolicy.apply()
        // What a 10k-machine load does: a big buffer (the file, the tape) freed. Without the policy
        // glibc raises its threshold to this block's size here.
        let bigSize = 24 << 20   // below glibc's 32 MiB cap on the dynamic threshold, so it would rise
        let big = try XCTUnwrap(malloc(bigSize))
        XCTAssertTrue(isMapped(big))
        memset(big, 1, bigSize)
        free(big)
        // Larger than every free byte in the arenas (earlier tests leave free chunks and a grown top),
        // so no free chunk can serve it: it is mapped only if the threshold stayed fixed.
        let size = max(Int(MallocPolicy.mmapThreshold) * 2, Int(fleet_arena_free_bytes()) + (64 << 10))
        XCTAssertLessThan(size, bigSize, "the arenas hold too much free memory for the test to tell")
        let block = try XCTUnwrap(malloc(size))
        defer { free(block) }
        XCTAssertTrue(isMapped(block), "a \(size)-byte block came from the heap arenas after a 24 MiB free")
        // Below the threshold (a frame's screen buffer is ~256 KB): the arenas, no mmap per frame.
        let small = try XCTUnwrap(malloc(Int(MallocPolicy.mmapThreshold) / 2))
        defer { free(small) }
        XCTAssertFalse(isMapped(small))
        #else
        throw XCTSkip("glibc's allocator only")
        #endif
    }

    /// `fleet list --json`'s policy (`applyOneShot`): a freed multi-megabyte block stays in the heap
    /// arenas and serves the next one, no fresh mapping for each.
    func testOneShotBlocksComeFromTheArenas() throws {
        #if canImport(Glibc)
        MallocPolicy.applyOneShot()
        defer { MallocPolicy.apply() }   // the dashboard's policy for the tests after this one
        let size = 6 << 20   // an inventory.json of 10k machines
        let first = try XCTUnwrap(malloc(size))
        XCTAssertFalse(isMapped(first), "a 6 MB block got its own mapping")
        memset(first, 1, size)
        free(first)
        let second = try XCTUnwrap(malloc(size))
        defer { free(second) }
        XCTAssertFalse(isMapped(second))
        #else
        throw XCTSkip("glibc's allocator only")
        #endif
    }
}
