import Foundation
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
