import XCTest
@testable import FleetTUI
@testable import FleetModel

/// A deploy's questions in the dashboard: sudo's password in the masked field, an unknown host
/// key as a yes/no dialog; the answers go back to the deploy, never to a vars job.
final class DeployQuestionTests: XCTestCase {
    func testSudoPasswordGoesToTheDeployMasked() {
        var s = AppState(source: .directory(path: "/nonexistent"), width: 120, height: 40)
        _ = Reducer.reduce(&s, .deployQuestion(.sudoPassword(SudoPasswordRequest(host: "tb1", target: "alice@tb1",
                                                                                  prompt: "[sudo] password for alice:", retry: false))))
        guard case .varsPrompt(let p)? = s.overlay else { return XCTFail("no masked field") }
        XCTAssertTrue(p.answersDeploy)
        XCTAssertTrue(p.kind.isHidden)
        for c in "pw 1" { _ = Reducer.reduce(&s, .key(.char(c))) }
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [.deployAnswer("pw 1")])
        XCTAssertNil(s.overlay)
        _ = Reducer.reduce(&s, .deployQuestion(.sudoPassword(SudoPasswordRequest(host: "tb1", target: "alice@tb1", prompt: "p", retry: true))))
        XCTAssertEqual(Reducer.reduce(&s, .key(.escape)), [.deployAnswer(nil)], "esc cancels the deploy's question")
    }

    func testHostKeyNeedsAnExplicitYes() {
        var s = AppState(source: .directory(path: "/nonexistent"), width: 120, height: 40)
        let req = HostKeyRequest(host: "tb3", knownHostsName: "10.0.0.2", keyType: "ED25519", fingerprint: "SHA256:abc")
        _ = Reducer.reduce(&s, .deployQuestion(.hostKey(req)))
        guard case .confirm(let d)? = s.overlay else { return XCTFail("no dialog") }
        XCTAssertTrue(d.lines.joined().contains("SHA256:abc"))
        XCTAssertTrue(d.cancelSelected, "enter alone does not trust a key")
        XCTAssertEqual(Reducer.reduce(&s, .key(.enter)), [.deployAnswer(nil)])
        _ = Reducer.reduce(&s, .deployQuestion(.hostKey(req)))
        XCTAssertEqual(Reducer.reduce(&s, .key(.char("y"))), [.deployAnswer("yes")])
    }
}
