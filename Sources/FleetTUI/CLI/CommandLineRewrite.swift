/// Shapes the command line before ArgumentParser sees it, so `fleet` reads like clan's CLI:
/// source options may come before the subcommand (`fleet --flake X list`), and an unknown
/// subcommand is named as such with the list of commands (it used to reach the dashboard's parser
/// as "unexpected argument").
enum CommandLineRewrite {
    enum Outcome: Equatable {
        case run([String])
        case unknownCommand(String)
    }

    /// Options every subcommand takes that carry a value.
    static let sourceOptions: Set<String> = ["--flake", "--inventory"]

    static func rewrite(_ args: [String], commands: [String]) -> Outcome {
        var leading: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if sourceOptions.contains(a) {
                leading.append(a)
                if i + 1 < args.count { leading.append(args[i + 1]) }
                i += 2
            } else if sourceOptions.contains(where: { a.hasPrefix($0 + "=") }) {
                leading.append(a)
                i += 1
            } else {
                break
            }
        }
        guard i < args.count else { return .run(args) }
        let word = args[i]
        if word.hasPrefix("-") { return .run(args) }     // an option of the dashboard, or --help/--version
        guard commands.contains(word) || word == "help" else { return .unknownCommand(word) }
        return .run([word] + leading + Array(args[(i + 1)...]))
    }
}
