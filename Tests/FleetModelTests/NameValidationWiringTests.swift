import Foundation
import XCTest
@testable import FleetModel

/// Hostile names are refused where they enter: the generators file (generator, dependency, prompt and
/// file names become vars/ paths and sandbox paths) and tag edits (tag and machine names). The tag edit
/// runs against a real inventory.json that must stay byte-identical.
final class NameValidationWiringTests: XCTestCase {
    private func parseGenerators(machine: String = "m", generator: String = "g", dependency: String? = nil,
                                 prompt: String = "pw", file: String = "key") throws {
        var gen: [String: Any] = ["prompts": [prompt: ["type": "hidden"]], "files": [file: [:] as [String: Any]], "script": "true"]
        if let dependency { gen["dependencies"] = [dependency] }
        let doc: [String: Any] = ["machines": [machine: ["generators": [generator: gen]]]]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
        _ = try GeneratorsFile(path: "generators.json").parse(try JSONParser.parse(text))
    }

    private func assertRefused(_ what: String, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains("invalid "), "\(what): \(e)", file: file, line: line)
        }
    }

    func testGeneratorsFileAcceptsClanStyleNames() throws {
        XCTAssertNoThrow(try parseGenerators(machine: "cinnabar", generator: "openssh", prompt: "user-password",
                                             file: "ssh.id_ed25519.pub"))
    }

    func testGeneratorsFileRejectsDotDot() {
        assertRefused("generator ..") { try self.parseGenerators(generator: "..") }
        assertRefused("file ..") { try self.parseGenerators(file: "..") }
        assertRefused("dependency ..") { try self.parseGenerators(dependency: "..") }
    }

    func testGeneratorsFileRejectsSlash() {
        assertRefused("file ../../etc/x") { try self.parseGenerators(file: "../../etc/x") }
        assertRefused("prompt a/b") { try self.parseGenerators(prompt: "a/b") }
        assertRefused("machine a/b") { try self.parseGenerators(machine: "a/b") }
    }

    func testGeneratorsFileRejectsShellMetacharacters() {
        assertRefused("generator $(id)") { try self.parseGenerators(generator: "$(id)") }
        assertRefused("prompt a;b") { try self.parseGenerators(prompt: "a;b") }
    }

    func testGeneratorsFileRejectsControlCharactersAndLeadingDash() {
        assertRefused("file with newline") { try self.parseGenerators(file: "a\nb") }
        assertRefused("generator -rf") { try self.parseGenerators(generator: "-rf") }
    }

    func testTagEditRejectsHostileTagsAndMachines() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = "{\n  \"meta\": {\n    \"name\": \"demo\"\n  },\n  \"machines\": {\n    \"jon\": {}\n  }\n}"
        try original.write(toFile: dir + "/inventory.json", atomically: true, encoding: .utf8)
        let writer = InventoryWriter(directory: dir, environment: ["CLAN_NO_COMMIT": "1", "PATH": "/usr/bin:/bin"])
        for (tag, machine) in [("../x", "jon"), ("a;b", "jon"), ("-rf", "jon"), ("a\nb", "jon"), ("$(id)", "jon"),
                               ("ok", "../jon"), ("ok", "jon;reboot"), ("ok", "-jon")] {
            do {
                _ = try await writer.addTag(tag, to: machine)
                XCTFail("accepted tag \(tag.debugDescription) on \(machine.debugDescription)")
            } catch let e as InventoryError {
                XCTAssertTrue(e.message.hasPrefix("invalid "), e.message)
                XCTAssertFalse(e.message.contains("\n"), "the error must show the name escaped")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8), original)
    }
}
