import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The write end of a child's stdin, kept open while the child runs (`ProcessSpec.stdinChannel`), for
/// sessions that answer the child as it asks (the sudo askpass proxy gets each password this way, so
/// a password is never in an argv, an environment or a file). One channel per child.
public final class StdinChannel: Sendable, Equatable {
    private let fd = Mutex<Int32?>(nil)

    public init() {}

    public static func == (a: StdinChannel, b: StdinChannel) -> Bool { a === b }

    func attach(fd newFD: Int32) { fd.withLock { $0 = newFD } }

    /// Writes all of `bytes`; false when the child is gone, not started, or the channel is closed.
    /// Blocks only as long as the pipe is full (a line of text never fills it).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        fd.withLock { fd in
            guard let f = fd else { return false }
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Closes the pipe: the child reads EOF. Idempotent.
    public func finish() {
        fd.withLock { fd in
            if let f = fd { _ = close(f) }
            fd = nil
        }
    }

    deinit { finish() }
}
