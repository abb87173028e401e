import Dispatch
import Foundation

/// Runs independent, thread-safe reads (small files under `vars/`) on every core. A start at 10k
/// machines opens ~8,000 of them, and each open/read/close mostly waits in the kernel's path walk,
/// so the work splits cleanly; results come back in input order.
enum ParallelRead {
    /// Below this many items one thread does it (starting workers costs more).
    static let threshold = 256

    static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, 8)
        guard items.count >= threshold, cores > 1 else { return items.map(transform) }
        // Interleaved chunks of 64: an uneven stretch of slow reads lands on every worker.
        let chunk = 64
        let chunks = (items.count + chunk - 1) / chunk
        return [R](unsafeUninitializedCapacity: items.count) { buf, count in
            let base = buf.baseAddress!
            // Each index is written by exactly one worker; nothing else touches the buffer meanwhile.
            nonisolated(unsafe) let out = base
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for i in c * chunk..<min(items.count, (c + 1) * chunk) {
                    (out + i).initialize(to: transform(items[i]))
                }
            }
            count = items.count
        }
    }
}
