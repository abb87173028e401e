import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one queue every event goes through. Background tasks `post` from any thread; the UI loop
/// sleeps in `poll(2)` on the queue's pipe and the terminal, so an idle UI uses no CPU.
final class EventQueue: Sendable {
    private let pending = Mutex<[Event]>([])
    /// Read end polled by the loop; the write end is also used by the signal handler.
    let readFD: Int32
    let writeFD: Int32

    init() {
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func post(_ event: Event) {
        UILog.record(event)
        pending.withLock { $0.append(event) }
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    /// The posted events in order if one of them is `wanted`, else nil and nothing taken. The wake-up
    /// pipe is left as it is (the loop's next wait drains it: a posted event never loses its byte).
    func drain(ifAny wanted: (Event) -> Bool) -> [Event]? {
        pending.withLock { p in
            guard p.contains(where: wanted) else { return nil }
            defer { p.removeAll() }
            return p
        }
    }

    /// Empties the wake-up pipe and returns the posted events in order.
    func drain() -> [Event] {
        var scratch = [UInt8](repeating: 0, count: 256)
        while read(readFD, &scratch, scratch.count) > 0 {}
        return pending.withLock { p in
            defer { p.removeAll() }
            return p
        }
    }
}
