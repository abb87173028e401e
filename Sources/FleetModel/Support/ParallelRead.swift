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

/// Work started on a thread of its own (detached), not on a pool: a pool's threads may all be
/// taken (one by the task that waits for this work), and the callers — a piece of a large JSON
/// text, the zerotier IP files read ahead — need it to run now, beside the caller.
enum BackgroundThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Runs `body` on a new thread (on this one if none can be made).
    static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attr, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if rc != 0 { Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run() }
    }
}
