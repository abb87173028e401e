import Foundation
import XCTest
@testable import FleetModel

/// Real git, real flock(1) as the concurrent editor.
final class InventoryWriterTests: XCTestCase {
    /// inventory.json as clan writes it: Python json.dump(indent=2), no trailing newline, non-ASCII escaped.
    private let original = """
    {
      "meta": {
        "name": "demo",
        "description": "caf\\u00e9 fleet"
      },
      "machines": {
        "jon": {
          "tags": [
            "web"
          ],
          "installedAt": 1718000000,
          "deploy": {
            "targetHost": "root@192.0.2.10"
          }
        },
        "sara": {
          "machineClass": "darwin"
        }
      }
    }
    """

    private func makeRepo() async throws -> String {
        let dir = try makeTempDir(self, "writer")
        try writeFile(dir + "/inventory.json", original)
        try writeFile(dir + "/other.txt", "untouched\n")
        try await gitRun(dir, "init", "-q")
        try await gitRun(dir, "add", "-A")
        try await gitRun(dir, "commit", "-q", "-m", "initial")
        return dir
    }

    private func writer(_ dir: String, _ env: [String: String] = [:]) -> InventoryWriter {
        InventoryWriter(directory: dir, environment: gitEnvironment(env))
    }

    func testAddTagMinimalDiffAndCommit() async throws {
        let dir = try await makeRepo()
        let outcome = try await writer(dir).addTag("backup", to: "jon")
        XCTAssertEqual(outcome, InventoryWriter.Outcome(changed: true, committed: true, message: "inventory.json: add tag backup to machine jon"))
        let text = try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8)
        XCTAssertEqual(text, original.replacingOccurrences(of: "\"web\"\n", with: "\"web\",\n        \"backup\"\n"))
        XCTAssertFalse(text.hasSuffix("\n"), "json.dump writes no trailing newline")
        let diff = try await gitRun(dir, "show", "--format=%s", "--unified=0", "HEAD").stdoutString
        XCTAssertTrue(diff.hasPrefix("inventory.json: add tag backup to machine jon\n"), diff)
        let changed = diff.split(separator: "\n").filter { ($0.hasPrefix("+") || $0.hasPrefix("-")) && !$0.hasPrefix("+++") && !$0.hasPrefix("---") }
        XCTAssertEqual(changed, ["-        \"web\"", "+        \"web\",", "+        \"backup\""])
        let files = try await gitRun(dir, "show", "--name-only", "--format=", "HEAD").stdoutString
        XCTAssertEqual(files, "inventory.json\n")
        let status = try await gitRun(dir, "status", "--porcelain").stdoutString
        XCTAssertEqual(status, "", "work tree clean after the commit")
    }

    func testAddTagToMachineWithoutTagsAndNewMachineAppendsKeys() async throws {
        let dir = try await makeRepo()
        _ = try await writer(dir).addTag("laptop", to: "sara")
        _ = try await writer(dir).addTag("new", to: "zed")
        let root = try JSONParser.parse(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8))
        XCTAssertEqual(Array(root["machines"]!.objectValue!.keys), ["jon", "sara", "zed"])
        XCTAssertEqual(Array(root["machines"]!["sara"]!.objectValue!.keys), ["machineClass", "tags"])
        XCTAssertEqual(root["machines"]?["zed"], .object(["tags": .array([.string("new")])]))
        let log = try await gitRun(dir, "log", "--format=%s").stdoutString
        XCTAssertEqual(log, "inventory.json: add tag new to machine zed\ninventory.json: add tag laptop to machine sara\ninitial\n")
    }

    func testRemoveTagAndNoOpEdits() async throws {
        let dir = try await makeRepo()
        let removed = try await writer(dir).removeTag("web", from: "jon")
        XCTAssertTrue(removed.committed)
        let text = try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8)
        XCTAssertEqual(text, original.replacingOccurrences(of: "\"tags\": [\n        \"web\"\n      ],", with: "\"tags\": [],"))
        let head = try await gitRun(dir, "rev-parse", "HEAD").stdoutString
        // Nothing to do: no write, no commit.
        let again = try await writer(dir).removeTag("web", from: "jon")
        XCTAssertEqual(again.changed, false)
        let existing = try await writer(dir).addTag("x", to: "jon")
        XCTAssertTrue(existing.committed)
        let dup = try await writer(dir).addTag("x", to: "jon")
        XCTAssertFalse(dup.changed)
        let head2 = try await gitRun(dir, "rev-parse", "HEAD~1").stdoutString
        XCTAssertEqual(head, head2)
    }

    func testRefusesComputedTagsNixTagsAndUnknownMachines() async throws {
        let dir = try await makeRepo()
        let evaluated = try InventoryDecoder(file: "eval").decode(#"{"machines": {"jon": {"tags": ["web", "fromnix", "all", "nixos"]}}}"#)
        for tag in ["all", "nixos", "darwin", "", "two words"] {
            do { _ = try await writer(dir).addTag(tag, to: "jon"); XCTFail("accepted \(tag)") } catch let e as InventoryError {
                XCTAssertEqual(e.path, "machines.jon.tags")
            }
        }
        do { _ = try await writer(dir).removeTag("fromnix", from: "jon", evaluated: evaluated); XCTFail("removed a Nix tag") } catch let e as InventoryError {
            XCTAssertTrue(e.message.contains("set in Nix"), e.message)
        }
        do { _ = try await writer(dir).addTag("t", to: "ghost", evaluated: evaluated); XCTFail("unknown machine") } catch let e as InventoryError {
            XCTAssertEqual(e.message, "no machine named \"ghost\"")
        }
        let fromNix = try await writer(dir).addTag("fromnix", to: "jon", evaluated: evaluated)
        XCTAssertFalse(fromNix.changed, "already set by Nix: nothing to write")
        try writeFile(dir + "/inventory.json", #"{"machines": {"jon": {"tags": "web"}}}"#)
        do { _ = try await writer(dir).addTag("t", to: "jon"); XCTFail("bad file") } catch let e as InventoryError {
            XCTAssertEqual(e.description, "\(dir)/inventory.json: machines.jon.tags: expected array, found string")
        }
    }

    func testClanNoCommitOnlyIntentToAdd() async throws {
        let dir = try await makeRepo()
        let outcome = try await writer(dir, ["CLAN_NO_COMMIT": "1"]).addTag("t", to: "jon")
        XCTAssertEqual(outcome.changed, true)
        XCTAssertEqual(outcome.committed, false)
        let log = try await gitRun(dir, "log", "--format=%s").stdoutString
        XCTAssertEqual(log, "initial\n")
        let status = try await gitRun(dir, "status", "--porcelain").stdoutString
        XCTAssertEqual(status, " M inventory.json\n")
    }

    func testWaitsForAConcurrentHolderOfClanLock() async throws {
        let dir = try await makeRepo()
        let lockPath = dir + "/.git/clan.lock"
        let started = dir + "/holder-started"
        // Another editor (flock(1), as a shell script around `clan` would) holds the lock for 2 s.
        let holder = Task {
            try await ProcessRunner().run(ProcessSpec(argv: ["flock", lockPath, "sh", "-c", "touch \"$1\"; sleep 2", "sh", started]))
        }
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: started) { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertTrue(FileLock.isHeld(lockPath), "the holder must have the lock")
        let writer = writer(dir)
        let writeTask = Task { try await writer.addTag("waited", to: "jon") }
        try await Task.sleep(for: .milliseconds(500))
        // Still waiting: the file is unchanged while the holder has the lock.
        XCTAssertEqual(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8), original)
        let holderResult = try await holder.value
        XCTAssertEqual(holderResult.status, 0)
        let outcome = try await writeTask.value
        XCTAssertTrue(outcome.committed)
        XCTAssertTrue(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8).contains("\"waited\""))
        XCTAssertFalse(FileLock.isHeld(lockPath), "fleet released the lock")
    }

    func testDirectoryWithoutGitIsWrittenWithoutCommit() async throws {
        let dir = try makeTempDir(self, "nogit")
        let outcome = try await InventoryWriter(directory: dir).addTag("t", to: "m")
        XCTAssertEqual(outcome, InventoryWriter.Outcome(changed: true, committed: false, message: "inventory.json: add tag t to machine m"))
        XCTAssertEqual(try String(contentsOfFile: dir + "/inventory.json", encoding: .utf8),
                       "{\n  \"machines\": {\n    \"m\": {\n      \"tags\": [\n        \"t\"\n      ]\n    }\n  }\n}")
    }
}
