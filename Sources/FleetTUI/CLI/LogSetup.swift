import ArgumentParser
import Foundation
import FleetModel
import Logging

/// The log file for this run: `--log-level LEVEL` (accepted anywhere before `--`, by every
/// subcommand), else `$FLEET_LOG`, else `info`. See `FleetLog` for the file and what goes in it.
enum LogSetup {
    static let option = "--log-level"
    static let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")

    /// Bootstraps logging and returns the arguments without the log option, for the parser.
    static func bootstrap(_ arguments: [String], environment env: [String: String]) -> [String] {
        let (level, rest, warning): (Logger.Level, [String], String?)
        do {
            (level, rest, warning) = try parse(arguments, environment: env)
        } catch {
            FileHandle.standardError.write(Data("fleet: \(error)\n".utf8))
            exit(ExitCode.validationFailure.rawValue)
        }
        if let warning { FileHandle.standardError.write(Data("fleet: \(warning)\n".utf8)) }
        FleetLog.bootstrap(level: level, path: FleetLog.defaultPath(environment: env))
        FleetLog.logger("fleet").info("fleet \(FleetVersion.string) \(commandPath(rest)) started (pid \(getpid()))")
        return rest
    }

    /// The level and the remaining arguments; an unknown `--log-level` is an error, an unknown
    /// `$FLEET_LOG` only a warning (it may be set for another version).
    static func parse(_ arguments: [String], environment env: [String: String]) throws -> (Logger.Level, [String], warning: String?) {
        var rest: [String] = []
        var chosen: String?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--" { rest += arguments[i...]; break }
            if a == option, i + 1 < arguments.count {
                chosen = arguments[i + 1]
                i += 2
                continue
            }
            if a.hasPrefix(option + "=") { chosen = String(a.dropFirst(option.count + 1)) } else { rest.append(a) }
            i += 1
        }
        if let chosen {
            guard let level = FleetLog.level(named: chosen) else {
                throw ValidationError("\(option): unknown level '\(chosen)' (\(levels))")
            }
            return (level, rest, nil)
        }
        if let name = env["FLEET_LOG"], !name.isEmpty {
            guard let level = FleetLog.level(named: name) else {
                return (.info, rest, "FLEET_LOG: unknown level '\(name)' (\(levels)); using info")
            }
            return (level, rest, nil)
        }
        return (.info, rest, nil)
    }

    /// `vars rotate`: the subcommand names among the arguments — never the other arguments, which
    /// may hold an answer (`--prompt-value g.f=…`).
    static func commandPath(_ arguments: [String]) -> String {
        var command: ParsableCommand.Type = FleetCommand.self
        var path: [String] = []
        for a in arguments {
            guard let sub = command.configuration.subcommands.first(where: { $0._commandName == a }) else { continue }
            path.append(a)
            command = sub
        }
        return path.isEmpty ? "ui" : path.joined(separator: " ")
    }
}
