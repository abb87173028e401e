import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// For `make bench` only: when `FLEET_BENCH_FRAME_LOG` is set, the moment the first frame with
/// the fleet on it has been written to the terminal is appended to that file (CLOCK_REALTIME,
/// nanoseconds, with the process's CPU time so far), and with `FLEET_BENCH_EXIT=1` the UI then quits;
/// the first frame with the vars status on it (the Fleet table's SECRETS column) is appended as a
/// `vars-loaded` line. Off otherwise.
struct BenchProbe {
    let path: String
    let exitAfter: Bool
    private var done = false
    private var varsDone = false

    static func fromEnvironment() -> BenchProbe? {
        let env = ProcessInfo.processInfo.environment
        guard let p = env["FLEET_BENCH_FRAME_LOG"], !p.isEmpty else { return nil }
        return BenchProbe(path: p, exitAfter: env["FLEET_BENCH_EXIT"] == "1")
    }

    init(path: String, exitAfter: Bool) {
        self.path = path
        self.exitAfter = exitAfter
    }

    mutating func firstFrameDrawn(machines: Int, running: inout Bool) {
        guard !done else { return }
        done = true
        append("first-frame", "rows=\(machines)")
        if exitAfter { running = false }
    }

    /// The first frame drawn with the vars status loaded (`rows`: the Vars screen's rows).
    mutating func varsFrameDrawn(rows: Int) {
        guard !varsDone else { return }
        varsDone = true
        append("vars-loaded", "rows=\(rows)")
    }

    private func append(_ event: String, _ detail: String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        // The process's CPU time so far (every thread): under load, wall time says little.
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        let cpuUs = (Int64(ru.ru_utime.tv_sec) + Int64(ru.ru_stime.tv_sec)) * 1_000_000 + Int64(ru.ru_utime.tv_usec) + Int64(ru.ru_stime.tv_usec)
        if let f = fopen(path, "a") {
            fputs("\(event) \(ns) \(detail) cpu_us=\(cpuUs)\n", f)
            fclose(f)
        }
    }
}
