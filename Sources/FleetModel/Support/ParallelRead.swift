import Dispatch
import Foundation

/// Runs independent, thread-safe reads on every core, results in input order: the small files under
/// `vars/` a start opens (`map`; ~8,000 at 10k machines, each open/read/close mostly waiting in the
/// kernel's path walk) and the machine chunks of a vars status (`chunks`, one reader per chunk).
enum ParallelRead {
    /// Below this many items one thread does it (starting workers costs more).
    static let threshold = 256

    static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, 8)
        guard items.count >= threshold, cores > 1 else { return items.map(transform) }
        // Interleaved chunks of 64: an uneven stretch of slow reads lands on every worker.
        let chunk = 64
        return ordered(count: items.count, chunks: (items.count + chunk - 1) / chunk) { c, put in
            for i in c * chunk..<min(items.count, (c + 1) * chunk) { put(i, transform(items[i])) }
        }
    }

    /// `body(c)` for every chunk `c` in `0..<count`, on every core when there is more than one; the
    /// results in chunk order.
    static func chunks<R: Sendable>(_ count: Int, _ body: @Sendable (Int) -> R) -> [R] {
        ordered(count: count, chunks: count) { c, put in put(c, body(c)) }
    }

    /// `count` results written by `chunks` workers (`work(chunk, put)`, `put(index, result)` once per
    /// index) straight into the array: no lock, no per-result allocation.
    private static func ordered<R: Sendable>(count: Int, chunks: Int,
                                             _ work: @Sendable (Int, @Sendable (Int, R) -> Void) -> Void) -> [R] {
        [R](unsafeUninitializedCapacity: count) { buf, initialized in
            // Each index is written by exactly one worker; nothing else touches the buffer meanwhile.
            nonisolated(unsafe) let out = buf.baseAddress
            let put: @Sendable (Int, R) -> Void = { i, r in (out! + i).initialize(to: r) }
            if chunks == 1 { work(0, put) } else { DispatchQueue.concurrentPerform(iterations: chunks) { work($0, put) } }
            initialized = count
        }
    }
}
