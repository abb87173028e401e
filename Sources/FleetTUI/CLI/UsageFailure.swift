import ArgumentParser
import FleetModel

/// Errors in what the user typed: ArgumentParser's `ValidationError`, so they print like its own
/// usage errors (message, usage line) and exit 64 (EX_USAGE) — the same words from every command.
enum UsageFailure {
    static func exit(_ message: String) -> ValidationError {
        ValidationError(message)
    }

    /// The one "unknown machine" error of `show`, `deploy`, `rollback`, `tag` and `vars …`: the known
    /// names, and the closest one when a name looks like a typo.
    static func unknownMachine(_ name: String, known: [String]) -> ValidationError {
        let sorted = known.sorted()
        let hint = DeploySelection.closest(name, in: sorted).map { " Did you mean '\($0)'?" } ?? ""
        return exit("unknown machine '\(name)'.\(hint) Known machines: \(sorted.joined(separator: ", "))")
    }

    /// Throws the unknown-machine error for the first of `names` not in `known`.
    static func checkMachines(_ names: [String], known: some Collection<String>) throws {
        let set = Set(known)
        if let bad = names.first(where: { !set.contains($0) }) { throw unknownMachine(bad, known: Array(known)) }
    }
}
