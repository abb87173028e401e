import Foundation
import XCTest
@testable import FleetModel

/// The zerotier IP files read ahead while the inventory is parsed (`ZerotierPrefetch`) give a
/// resolution exactly what reading them during it gives: the same addresses and the same recorded
/// reads — owner, path and stamp — for plain, padded, empty, missing, symlinked and non-regular
/// value files, and nothing for files no machine needs.
final class ZerotierPrefetchTests: XCTestCase {
    private func key(_ r: VarsRead) -> String {
        "\(r.owner ?? "-") \(r.path) \(r.stamp.map { "\($0)" } ?? "absent")"
    }

    private func fleetWithOddFiles() throws -> (dir: String, names: [String]) {
        let dir = try makeTempDir(self, "prefetch")
        try SyntheticFleet(machines: 700, seed: 5).write(to: dir)
        let shared = dir + "/vars/shared"
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: shared).filter { $0.hasPrefix("zerotier-ip-") }.sorted()
        XCTAssertGreaterThan(names.count, 300)
        func value(_ i: Int) -> String { shared + "/" + names[i] + "/ip/value" }
        try "  fd00::1 \n\t".write(toFile: value(1), atomically: false, encoding: .utf8)
        try fm.removeItem(atPath: value(2))
        try fm.createDirectory(atPath: value(2), withIntermediateDirectories: false)
        try fm.removeItem(atPath: value(3))
        try "fd00::\u{e9}\n".write(toFile: value(4), atomically: false, encoding: .utf8)
        try "fd00::5\n".write(toFile: dir + "/elsewhere", atomically: false, encoding: .utf8)
        try fm.removeItem(atPath: value(5))
        try fm.createSymbolicLink(atPath: value(5), withDestinationPath: dir + "/elsewhere")
        try "".write(toFile: value(6), atomically: false, encoding: .utf8)
        try fm.createDirectory(atPath: shared + "/zerotier-ip-nosuchmachine-zerotier/ip", withIntermediateDirectories: true)
        try "fd00::7\n".write(toFile: shared + "/zerotier-ip-nosuchmachine-zerotier/ip/value", atomically: false, encoding: .utf8)
        return (dir, names)
    }

    func testSameAddressesAndReadsAsReadingDuringTheResolution() throws {
        let (dir, names) = try fleetWithOddFiles()
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let during = VarsReadRecorder()
        let plain = ResolvedFleet(inv, recorder: during)
        let ahead = VarsReadRecorder()
        let prefetch = ZerotierPrefetch(root: dir)
        let prefetched = ResolvedFleet(inv, recorder: ahead, prefetched: prefetch)
        XCTAssertEqual(prefetched.addresses, plain.addresses)
        let reads = ahead.finish()
        XCTAssertEqual(reads.map(key).sorted(), during.finish().map(key).sorted())
        XCTAssertFalse(reads.contains { $0.path.contains("nosuchmachine") })
        XCTAssertEqual(prefetched.overlayIPs.values.filter { $0 == "fd00::1" }.count, 1)
        // The reads did come from the prefetch (the odd files included).
        for i in 0..<7 { XCTAssertNotNil(prefetch.file("vars/shared/\(names[i])/ip/value"), names[i]) }
        XCTAssertNil(prefetch.file("vars/shared/zerotier-network-zerotier/network-id/value"))
    }

    /// A file rewritten after it was read ahead: the resolution uses the bytes read and records the
    /// stamp of those bytes, so the cache sees the change at the next start.
    func testAFileChangedAfterTheReadKeepsTheStampOfTheBytesUsed() throws {
        let (dir, names) = try fleetWithOddFiles()
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let prefetch = ZerotierPrefetch(root: dir)
        prefetch.finish()
        let path = "vars/shared/\(names[1])/ip/value"
        let before = try XCTUnwrap(prefetch.file(path))
        try FileManager.default.removeItem(atPath: dir + "/" + path)
        try "fd00::99\n".write(toFile: dir + "/" + path, atomically: false, encoding: .utf8)
        let recorder = VarsReadRecorder()
        let fleet = ResolvedFleet(inv, recorder: recorder, prefetched: prefetch)
        XCTAssertTrue(fleet.overlayIPs.values.contains("fd00::1"))
        XCTAssertFalse(fleet.overlayIPs.values.contains("fd00::99"))
        let read = try XCTUnwrap(recorder.finish().first { $0.path == path })
        XCTAssertEqual(read.stamp, before.stamp)
        var st = stat()
        XCTAssertEqual(stat(dir + "/" + path, &st), 0)
        XCTAssertNotEqual(read.stamp, FileStamp(st))
        // Without a recorder (nothing to pair stamps with) the prefetch is not used.
        XCTAssertTrue(ResolvedFleet(inv, prefetched: prefetch).overlayIPs.values.contains("fd00::99"))
    }

    /// A clan without `vars/shared`: nothing read ahead, the resolution reads as before.
    func testNoSharedDirectory() throws {
        let dir = try makeTempDir(self, "prefetch")
        try SyntheticFleet(machines: 50, seed: 2, withZerotierVars: false).write(to: dir)
        let inv = try DirectoryInventoryLoader(directory: dir).load()
        let a = VarsReadRecorder(), b = VarsReadRecorder()
        let plain = ResolvedFleet(inv, recorder: a)
        let ahead = ResolvedFleet(inv, recorder: b, prefetched: ZerotierPrefetch(root: dir))
        XCTAssertEqual(ahead.addresses, plain.addresses)
        XCTAssertEqual(b.finish().map(key).sorted(), a.finish().map(key).sorted())
    }
}
