import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Timing for the in-process benchmarks (`fleet bench-internal`, used by `make bench`): monotonic
/// wall-clock samples and their summary, printed as one JSON object per benchmark.
enum BenchTiming {
    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Milliseconds `body` took.
    static func millis(_ body: () throws -> Void) rethrows -> Double {
        let t0 = nowNanos()
        try body()
        return Double(nowNanos() - t0) / 1e6
    }

    /// `warmup` untimed runs, then `iterations` timed ones (milliseconds each).
    static func samples(warmup: Int, iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
        for _ in 0..<warmup { try body() }
        var out: [Double] = []
        out.reserveCapacity(iterations)
        for _ in 0..<iterations { out.append(try millis(body)) }
        return out
    }
}

/// Summary of timing samples (milliseconds). The median is the headline figure: on a shared 2-core
/// machine the mean is dragged by other people's work.
struct BenchSummary {
    let samples: [Double]

    private var sorted: [Double] { samples.sorted() }
    var median: Double { Self.quantile(sorted, 0.5) }
    var p95: Double { Self.quantile(sorted, 0.95) }
    var min: Double { sorted.first ?? 0 }
    var max: Double { sorted.last ?? 0 }

    static func quantile(_ s: [Double], _ q: Double) -> Double {
        guard !s.isEmpty else { return 0 }
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = Swift.min(s.count - 1, lo + 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    /// `"name": {"median_ms": …, "p95_ms": …, "min_ms": …, "max_ms": …, "n": …}`
    func json(_ name: String) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        return "\"\(name)\": {\"median_ms\": \(f(median)), \"p95_ms\": \(f(p95)), \"min_ms\": \(f(min)), \"max_ms\": \(f(max)), \"n\": \(samples.count)}"
    }
}

/// Prints one benchmark result line: `{"bench": name, <fields>}`.
func benchPrint(_ name: String, _ fields: [String]) {
    print("{\"bench\": \"\(name)\"" + fields.map { ", " + $0 }.joined() + "}")
}
