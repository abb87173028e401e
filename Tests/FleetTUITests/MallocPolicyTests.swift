import Foundation
import XCTest
@testable import FleetTUI

/// The dashboard's allocator policy (`MallocPolicy`): once a multi-megabyte block has been freed,
/// glibc's default (dynamic) mmap threshold serves every later block below that size from the heap
/// arenas, whose freed pages stay resident. With the policy, a block above 512 KiB still gets its own
/// mapping after an 8 MiB one was freed, and a frame-sized block does not.
final class MallocPolicyTests: XCTestCase {
    /// glibc's chunk header: the size word just before the block, whose bit 1 is IS_MMAPPED.
    private func isMapped(_ p: UnsafeMutableRawPointer) -> Bool {
        (p - MemoryLayout<Int>.size).load(as: UInt.self) & 2 != 0
    }

    func testBlocksAboveTheThresholdKeepTheirOwnMappingAfterABigFree() throws {
        #if canImport(Glibc)
        MallocPolicy.apply()
        // What a 10k-machine load does: a big buffer (the file, the tape) freed. Without the policy
        // glibc raises its threshold to this block's size here.
        let big = try XCTUnwrap(malloc(8 << 20))
        XCTAssertTrue(isMapped(big))
        memset(big, 1, 8 << 20)
        free(big)
        let size = Int(MallocPolicy.mmapThreshold) * 2
        let block = try XCTUnwrap(malloc(size))
        defer { free(block) }
        XCTAssertTrue(isMapped(block), "a \(size)-byte block came from the heap arenas after an 8 MiB free")
        // Below the threshold (a frame's screen buffer is ~256 KB): the arenas, no mmap per frame.
        let small = try XCTUnwrap(malloc(Int(MallocPolicy.mmapThreshold) / 2))
        defer { free(small) }
        XCTAssertFalse(isMapped(small))
        #else
        throw XCTSkip("glibc's allocator only")
        #endif
    }
}
