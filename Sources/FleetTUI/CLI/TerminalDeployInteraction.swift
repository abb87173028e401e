import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's answers to a deploy's questions, on the controlling terminal (`/dev/tty`, as ssh and
/// sudo ask): a sudo password read without echo, a host key fingerprint answered yes/no. Without a
/// terminal there is nobody to ask: `make()` returns nil and those hosts fail with a clear message
/// (clan's ssh fails the same way without a terminal). One question at a time, across hosts.
enum TerminalDeployInteraction {
    private static let queue = DispatchQueue(label: "fleet.tty-questions")

    static func make() -> DeployInteraction? {
        guard let fd = TerminalInput.terminal() else { return nil }
        close(fd)
        return DeployInteraction(
            sudoPassword: { req in
                await ask("\(req.retry ? "Sorry, try again.\n" : "")[\(req.host)] \(req.prompt) ", hidden: true)
            },
            confirmHostKey: { req in
                while true {
                    guard let a = await ask("[\(req.host)] \(req.question) ", hidden: false) else { return false }
                    switch a.lowercased() {
                    case "yes": return true
                    case "no", "": return false
                    default: continue  // OpenSSH: "Please type 'yes', 'no' or the fingerprint"
                    }
                }
            },
            varsPrompt: { req in
                await withCheckedContinuation { c in
                    queue.async { c.resume(returning: try? TerminalPrompt.ask(req)) }
                }
            })
    }

    private static func ask(_ prompt: String, hidden: Bool) async -> String? {
        await withCheckedContinuation { c in
            queue.async { c.resume(returning: readLine(prompt, hidden: hidden)) }
        }
    }

    /// One line from /dev/tty; nil on EOF or without a terminal.
    private static func readLine(_ prompt: String, hidden: Bool) -> String? {
        guard let fd = TerminalInput.terminal() else { return nil }
        defer { close(fd) }
        return TerminalInput.line(fd, prompt: prompt, hidden: hidden)
    }
}
