import XCTest
@testable import FleetModel

/// Inputs that crashed the nix log parser (fuzz target `nixlog`): a remote nix's stderr must never
/// bring fleet down. Before the fix each of these trapped (Double→Int conversion, Int64 overflow).
final class NixLogFuzzRegressionTests: XCTestCase {
    private func fold(_ lines: [String]) -> NixProgress {
        var p = NixProgress()
        for l in lines { _ = p.consume(l) }
        return p
    }

    func testHugeFloatFieldsAreClamped() {
        XCTAssertEqual(NixLogParser.parse(#"@nix {"action":"result","id":1,"type":105,"fields":[1e300,-1e300,2.5]}"#),
                       .record(.result(id: 1, type: 105, fields: [.int(.max), .int(.min), .int(2)])))
        _ = fold([#"@nix {"action":"result","id":1,"type":105,"fields":[1e300]}"#])
    }

    func testDownloadByteCountersDoNotOverflow() {
        let p = fold([#"@nix {"action":"start","id":7,"level":0,"text":"","type":101}"#,
                      #"@nix {"action":"result","id":7,"type":105,"fields":[-9223372036854775807,0,0,0]}"#,
                      #"@nix {"action":"result","id":7,"type":105,"fields":[9223372036854775807,0,0,0]}"#,
                      #"@nix {"action":"start","id":8,"level":0,"text":"","type":101}"#,
                      #"@nix {"action":"result","id":8,"type":105,"fields":[9223372036854775807,0,0,0]}"#])
        XCTAssertEqual(p.downloadBytesDone, .max)
    }

    func testCopyCountersDoNotOverflow() {
        let p = fold([#"@nix {"action":"start","id":1,"level":0,"text":"copying 9223372036854775807 paths","type":103}"#,
                      #"@nix {"action":"start","id":2,"level":0,"text":"copying 9223372036854775807 paths","type":103}"#,
                      #"@nix {"action":"result","id":1,"type":105,"fields":[9223372036854775807,9223372036854775807,0,0]}"#,
                      #"@nix {"action":"start","id":3,"level":0,"text":"","type":100,"fields":["/nix/store/aaaa-x"]}"#,
                      #"@nix {"action":"stop","id":3}"#])
        XCTAssertEqual(p.copiesExpected, .max)
        XCTAssertEqual(p.copiesDone, .max)
    }
}
