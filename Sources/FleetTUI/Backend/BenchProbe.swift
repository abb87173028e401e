import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// For `make bench` only: when `FLEET_BENCH_FRAME_LOG` is set, the moment the first frame with
/// the fleet on it has been written to the terminal is appended to that file (CLOCK_REALTIME,
/// nanoseconds), and with `FLEET_BENCH_EXIT=1` the UI then quits. Off otherwise.
struct BenchProbe {
    let path: String
    let exitAfter: Bool
    private var done = false

    static func fromEnvironment() -> BenchProbe? {
        let env = ProcessInfo.processInfo.environment
        guard let p = env["FLEET_BENCH_FRAME_LOG"], !p.isEmpty else { return nil }
        return BenchProbe(path: p, exitAfter: env["FLEET_BENCH_EXIT"] == "1")
    }

    init(path: String, exitAfter: Bool) {
        self.path = path
        self.exitAfter = exitAfter
    }

    mutating func firstFrameDrawn(state: inout AppState) {
        guard !done else { return }
        done = true
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        if let f = fopen(path, "a") {
            fputs("first-frame \(ns) rows=\(state.machines.count)\n", f)
            fclose(f)
        }
        if exitAfter { state.running = false }
    }
}
