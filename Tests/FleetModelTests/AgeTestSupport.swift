import Foundation
import XCTest
@testable import FleetModel

/// Shared helpers for the secrets tests: fixtures, temp dirs, and running real tools.
enum AgeTestSupport {
    static var fixtures: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    struct ToolResult { var status: Int32; var stdout: [UInt8]; var stderr: String }

    /// Runs a tool (argv array, never a shell string). Missing tools fail the test clearly.
    static func run(_ argv: [String], stdin: [UInt8] = [], env: [String: String]? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> ToolResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        if let env { p.environment = env }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Write stdin and read stdout concurrently so large payloads cannot deadlock.
        let writer = Thread {
            inPipe.fileHandleForWriting.write(Data(stdin))
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let errReader = Thread { errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while errReader.isExecuting || writer.isExecuting { usleep(1000) }
        let err = String(decoding: errBox.data, as: UTF8.self)
        if p.terminationStatus == 127 {
            XCTFail("required tool '\(argv[0])' is not installed: \(err)", file: file, line: line)
        }
        return ToolResult(status: p.terminationStatus, stdout: Array(out), stderr: err)
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Deterministic pseudo-random bytes (fast, reproducible payloads).
    static func bytes(_ n: Int, seed: UInt64 = 1) -> [UInt8] {
        var x = seed &* 0x9E3779B97F4A7C15 | 1
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            out[i] = UInt8(truncatingIfNeeded: x)
        }
        return out
    }
}
