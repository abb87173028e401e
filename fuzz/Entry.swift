// libFuzzer entry points for every fleet fuzz target. All targets live in one instrumented binary
// (FleetModel is compiled once); FLEET_FUZZ_TARGET picks the parser. See fuzz/README.md.
#if canImport(Glibc)
import Glibc
#endif

/// A fuzz target: gets one input, must return normally for every input. A crash (trap, out-of-bounds,
/// stack overflow) or a failed `FuzzCheck.require` is a finding.
typealias FuzzTarget = ([UInt8]) -> Void

let fuzzTargets: [String: FuzzTarget] = [
    "json": FuzzJSON.run,
    "config": FuzzConfig.run,
    "age": FuzzAge.run,
    "sops": FuzzSops.run,
    "nixlog": FuzzNixLog.run,
]

nonisolated(unsafe) var selectedTarget: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = getenv("FLEET_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let t = fuzzTargets[name] else {
        fputs("fleet-fuzz: set FLEET_FUZZ_TARGET to one of \(fuzzTargets.keys.sorted().joined(separator: ", "))\n", stderr)
        exit(2)
    }
    selectedTarget = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget?(bytes)
    return 0
}

/// Invariants the harnesses check beyond "does not crash". A violation aborts, which libFuzzer
/// records as a crash with the input that caused it.
enum FuzzCheck {
    static func require(_ ok: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !ok() {
            fputs("fleet-fuzz invariant violated: \(message())\n", stderr)
            abort()
        }
    }
}
