import XCTest
@testable import FleetModel

/// NixLogParser on real lines captured from Debian's nix 2.8 (`--log-format internal-json -v`):
/// a build of a testbed system (2 derivations), a failing build, `nix copy` of 4 paths and of none.
final class DeployNixLogParserTests: XCTestCase {
    static func fixture(_ name: String) throws -> [String] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/nix-logs/" + name)
        return try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
    }

    func testParsesEachActionKind() {
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"start","fields":["/nix/store/3vs5kyv7p38d33h64na8kd14d7mp676w-testbed-etc-capt-c28392.drv","",1,1],"id":63801739182085,"level":3,"text":"building '/nix/store/3vs5kyv7p38d33h64na8kd14d7mp676w-testbed-etc-capt-c28392.drv'","type":105}"#),
                       .record(.start(id: 63801739182085, level: 3, type: 105,
                                      text: "building '/nix/store/3vs5kyv7p38d33h64na8kd14d7mp676w-testbed-etc-capt-c28392.drv'",
                                      parent: 0, fields: [.string("/nix/store/3vs5kyv7p38d33h64na8kd14d7mp676w-testbed-etc-capt-c28392.drv"), .string(""), .int(1), .int(1)])))
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"stop","id":63801739182085}"#), .record(.stop(id: 63801739182085)))
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"result","fields":[0,2,1,0],"id":63801739182082,"type":105}"#),
                       .record(.result(id: 63801739182082, type: 105, fields: [.int(0), .int(2), .int(1), .int(0)])))
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"msg","level":3,"msg":"these 2 derivations will be built:"}"#),
                       .record(.message(level: 3, text: "these 2 derivations will be built:")))
    }

    func testErrorMessageLosesANSI() throws {
        let line = try Self.fixture("build-failure.log").last!
        guard case .record(.message(0, let text)) = NixLogParser.parse(line) else { return XCTFail(line) }
        XCTAssertEqual(text, "error: builder for '/nix/store/dgh78zylr1s803bks7lqj5gf40snhyri-fleet-fail-capture.drv' failed with exit code 3")
    }

    func testPlainAndMalformedLinesPassThrough() {
        XCTAssertEqual(NixLogParser.parse("Warning: Permanently added 'tb1'"), .plain("Warning: Permanently added 'tb1'"))
        XCTAssertEqual(NixLogParser.parse("@nix {not json"), .plain("@nix {not json"))
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"setPhase","phase":"x"}"#), .record(.other(action: "setPhase")))
        // Newer nix: unknown activity and result types are tolerated.
        var p = NixProgress()
        XCTAssertEqual(p.consume(#"@nix {"action":"start","id":9,"level":3,"type":113,"text":"hashing","fields":["/src",1]}"#), ["hashing"])
        XCTAssertEqual(p.consume(#"@nix {"action":"result","id":9,"type":109,"fields":["/nix/store/x"]}"#), [])
    }

    func testBuildProgressFromRealLog() throws {
        var p = NixProgress()
        var fractions: [Double] = []
        var sawCurrent = false
        var log: [String] = []
        for line in try Self.fixture("build-2-derivations.log") {
            log += p.consume(line)
            if let f = p.buildFraction { fractions.append(f) }
            if p.currentDerivation == "testbed-etc-capt-c28392" { sawCurrent = true }
        }
        XCTAssertEqual(p.buildsDone, 2)
        XCTAssertEqual(p.buildsExpected, 2)
        XCTAssertEqual(p.buildsFailed, 0)
        XCTAssertEqual(fractions.last, 1)
        XCTAssertTrue(sawCurrent, "the derivation being built is reported while it runs")
        XCTAssertNil(p.currentDerivation, "nothing runs at the end")
        XCTAssertTrue(log.contains("these 2 derivations will be built:"))
        XCTAssertTrue(log.contains { $0.hasPrefix("building '/nix/store/") }, "\(log)")
        XCTAssertFalse(log.contains { $0.contains("querying info about missing paths") }, "level-6 chatter stays out of the log")
    }

    func testFailedBuildKeepsBuilderOutputAndError() throws {
        var p = NixProgress()
        var log: [String] = []
        for line in try Self.fixture("build-failure.log") { log += p.consume(line) }
        XCTAssertEqual(p.buildsFailed, 1)
        XCTAssertTrue(log.contains("fleet-fail-capture> compiling part one"), "\(log)")
        XCTAssertTrue(log.contains("fleet-fail-capture> about to fail"))
        XCTAssertEqual(ErrorText.nix(errors: p.errors, stderrLines: [], status: 100),
                       "builder for '/nix/store/dgh78zylr1s803bks7lqj5gf40snhyri-fleet-fail-capture.drv' failed with exit code 3")
    }

    func testCopyCountsPaths() throws {
        var p = NixProgress()
        var fractions: [Double] = []
        for line in try Self.fixture("copy-4-paths.log") {
            p.consume(line)
            if let f = p.copyFraction { fractions.append(f) }
        }
        XCTAssertEqual(p.copiesExpected, 4)
        XCTAssertEqual(p.copiesDone, 4)
        XCTAssertEqual(fractions.first, 0)
        XCTAssertEqual(fractions.last, 1)
        XCTAssertEqual(fractions, fractions.sorted(), "progress only goes forward")

        var none = NixProgress()
        for line in try Self.fixture("copy-nothing.log") { none.consume(line) }
        XCTAssertEqual(none.copiesExpected, 0)
        XCTAssertEqual(none.copiesDone, 0)
    }

    func testDownloadBytes() {
        var p = NixProgress()
        p.consume(#"@nix {"action":"start","id":1,"level":0,"text":"","type":102}"#)
        p.consume(#"@nix {"action":"result","fields":[101,1000],"id":1,"type":106}"#)
        p.consume(#"@nix {"action":"start","id":2,"level":4,"text":"downloading 'https://cache/x.nar'","type":101,"fields":["https://cache/x.nar"]}"#)
        p.consume(#"@nix {"action":"result","fields":[400,1000,0,0],"id":2,"type":105}"#)
        p.consume(#"@nix {"action":"result","fields":[900,1000,0,0],"id":2,"type":105}"#)
        XCTAssertEqual(p.downloadBytesExpected, 1000)
        XCTAssertEqual(p.downloadBytesDone, 900)
        XCTAssertTrue(p.buildSummary.contains("downloaded 900 B/1000 B"), p.buildSummary)
    }

    func testDerivationName() {
        XCTAssertEqual(NixLogParser.derivationName("/nix/store/lncp17k9ykqvd4y8rwl03zmw8p35ikb3-nixos-system-capt-testbed-c28392.drv"),
                       "nixos-system-capt-testbed-c28392")
        XCTAssertEqual(NixLogParser.derivationName("/nix/store/2p8mp430jv5c74hf7ixs98751akzr8s1-testbed-sw"), "testbed-sw")
    }
}
