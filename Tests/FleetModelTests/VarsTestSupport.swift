import Foundation
import FleetModel
import XCTest

/// Fixture access for the Vars tests: fixtures are copied into a fresh temp dir so tests may modify
/// them and so the relative symlinks clan uses resolve inside the copy.
enum VarsFixtures {
    static func url(_ name: String) throws -> URL {
        guard let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw XCTSkip("Fixtures bundle missing")  // never expected: resources are declared in Package.swift
        }
        return base.appendingPathComponent("vars").appendingPathComponent(name)
    }

    /// A private copy of fixture `name`; removed by the caller via `addTeardownBlock`.
    static func copy(_ name: String, test: XCTestCase) throws -> String {
        let dst = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-vars-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: try url(name), to: dst)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dst) }
        return dst.path
    }
}

/// Real-tool helpers for the vars end-to-end tests.
enum VarsE2E {
    static var demoDirectory: String { InventoryFixtures.demo }

    struct Output { let status: Int32; let stdout: [UInt8]; let stderr: String; var text: String { String(decoding: stdout, as: UTF8.self) } }

    /// Runs a command synchronously (argv only); fails the test with a clear message when the tool is missing.
    @discardableResult
    static func run(_ argv: [String], cwd: String? = nil, env: [String: String]? = nil, stdin: [UInt8]? = nil) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let env { p.environment = ProcessInfo.processInfo.environment.merging(env) { _, b in b } }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin)); try? inp.fileHandleForWriting.close() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: Array(o), stderr: String(decoding: e, as: UTF8.self))
    }

    static func requireTools(_ tools: [String]) throws {
        for t in tools where (try? run(["which", t]))?.status != 0 {
            XCTFail("\(t) is required for this test (make test installs it)")
            throw XCTSkip("missing \(t)")
        }
    }

    /// A private git repository holding a copy of the demo clan directory.
    static func demoCopy(test: XCTestCase) throws -> String {
        let dst = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-demo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dst, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dst) }
        for item in ["inventory.json", "systems.json", "generators.json", "sops", "vars"] {
            try FileManager.default.copyItem(atPath: demoDirectory + "/" + item, toPath: dst + "/" + item)
        }
        try run(["git", "init", "-q"], cwd: dst)
        try run(["git", "config", "user.name", "fleet test"], cwd: dst)
        try run(["git", "config", "user.email", "test@example.invalid"], cwd: dst)
        try run(["git", "add", "-A"], cwd: dst)
        try run(["git", "commit", "-qm", "demo"], cwd: dst)
        return dst
    }

    static func keyFile(_ user: String) -> String { demoDirectory + "/demo-keys/\(user).txt" }

    static func identities(_ users: [String]) throws -> [AgeIdentity] {
        try users.flatMap { u in try AgeIdentity.parseFile(String(contentsOfFile: keyFile(u), encoding: .utf8), source: u) }
    }

    /// Decrypts a clan secret with the real `age` CLI (data key) + pyca AES-GCM; nil when the key is not a recipient.
    static func ageDecrypt(_ secretFile: String, user: String) throws -> [UInt8]? {
        let script = try VarsFixtures.url("tools").appendingPathComponent("sops_age_decrypt.py").path
        let r = try run(["python3", script, secretFile, keyFile(user)])
        if r.status == 1 { return nil }
        guard r.status == 0 else { throw VarsError(secretFile, "independent decrypt failed: \(r.stderr)") }
        return r.stdout
    }

    /// Every regular file and symlink under `dir` (relative path → content or link target).
    static func snapshot(_ dir: String, under roots: [String] = ["vars", "sops"]) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let fm = FileManager.default
        for root in roots {
            guard let e = fm.enumerator(atPath: dir + "/" + root) else { continue }
            while let rel = e.nextObject() as? String {
                let p = dir + "/" + root + "/" + rel
                if let t = try? fm.destinationOfSymbolicLink(atPath: p) { out[root + "/" + rel] = Array(("-> " + t).utf8); continue }
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, let d = fm.contents(atPath: p) { out[root + "/" + rel] = Array(d) }
            }
        }
        return out
    }
}
