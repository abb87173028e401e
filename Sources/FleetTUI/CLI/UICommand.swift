import ArgumentParser
import Foundation
import Synchronization
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// `fleet ui` (the default): the full-screen dashboard.
struct UICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Open the dashboard (the default when no subcommand is given).",
        discussion: """
        Environment: NO_COLOR disables colours; a non-UTF-8 locale switches to ASCII glyphs; \
        XDG_CONFIG_HOME/fleet/config.toml and XDG_CONFIG_HOME/fleet/themes/*.toml configure it.

        Examples:
          fleet                    the dashboard on ./flake.nix or the demo
          fleet --theme light      with another theme
        """)

    @OptionGroup var sourceOptions: SourceOptions

    @Option(help: "Theme name (themes/*.toml or $XDG_CONFIG_HOME/fleet/themes).")
    var theme: String?

    func run() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw CLIError("fleet: the dashboard needs a terminal; for scripts use `fleet list --json`")
        }
        MallocPolicy.apply()   // before the inventory is loaded
        let env = ProcessInfo.processInfo.environment
        let settings = try UISettings.resolve(environment: env, themeOption: theme)
        var state = AppState(source: try sourceOptions.source(config: settings.config), width: 80, height: 24)
        state.theme = settings.theme
        state.glyphs = settings.glyphs
        state.keyMap = settings.keyMap
        state.paletteHistory = PaletteHistoryStore.load()
        let term = env["TERM"] ?? ""
        // A terminal without cursor addressing (TERM=dumb, or none at all) cannot hold a dashboard;
        // drawing ANSI at it would spray escape codes, so it gets the fleet as plain text.
        guard !PlainTextMode.cannotDraw(term: term) else {
            try PlainTextMode.show(source: state.source, reason: term.isEmpty ? "TERM is not set" : "TERM=\(term) cannot draw the dashboard")
            return
        }
        let loop = EventLoop(state: state, noColor: settings.noColor,
                             terminals: [term] + NcursesBackend.fallbackTerminals.filter { $0 != term },
                             deploySettings: DeploySettings.from(config: settings.config, environment: env))
        guard let status = loop.run(initialEffects: [.loadInventory(state.source), .loadHistory(allFleets: false), .loadThemeNames],  // vars follow the first inventory (Reducer)
                                    initialEvents: settings.warnings.map { .toast($0, .error) }) else {
            try PlainTextMode.show(source: state.source, reason: "no terminal description fits TERM=\(term)")
            return
        }
        UILog.logger.info("dashboard closed (status \(status))")
        if status != 0 { throw ExitCode(status) }
    }
}

/// Theme, glyphs, colours and keys for the UI, from the environment, config file and options.
/// Pure apart from reading files, so it is unit-tested without a terminal.
struct UISettings {
    var config = FleetConfig()
    var theme = Theme.defaultDark
    var glyphs = Glyphs.unicode
    var keyMap = KeyMap.default
    var noColor = false
    var warnings: [String] = []

    static func configPath(_ env: [String: String]) -> String {
        XDGDirectories.fleet(.config, "config.toml", environment: env)
    }

    /// A broken config is an error (the user asked for something we cannot do); a broken theme
    /// falls back to the default with a warning.
    static func resolve(environment env: [String: String], themeOption: String?) throws -> UISettings {
        var s = UISettings()
        let path = configPath(env)
        if let data = FileManager.default.contents(atPath: path) {
            guard let text = String(data: data, encoding: .utf8) else { throw CLIError("fleet: \(path): not UTF-8 text") }
            do { s.config = try FleetConfig.parse(text, file: path) } catch { throw CLIError("fleet: \(error)") }
            for o in s.config.keys {
                guard let action = Action(rawValue: o.action) else {
                    throw CLIError("fleet: \(ConfigError(file: path, key: "keys.\(o.action)", line: o.line, message: "unknown action (known: \(Action.allCases.map(\.rawValue).joined(separator: ", ")))"))")
                }
                var keys: [Key] = []
                for k in o.keys {
                    guard let key = KeyMap.parse(k) else {
                        throw CLIError("fleet: \(ConfigError(file: path, key: "keys.\(o.action)", line: o.line, message: "unknown key '\(k)' (e.g. \"d\", \"ctrl-d\", \"f5\", \"space\", \"enter\")"))")
                    }
                    keys.append(key)
                }
                s.keyMap.rebind(action, to: keys)
            }
        }
        s.noColor = !(env["NO_COLOR"] ?? "").isEmpty || env["TERM"] == "dumb"
        let themeName = themeOption ?? s.config.theme ?? "default"
        if s.noColor {
            s.theme = .monochrome
        } else {
            let (t, warning) = ThemeCatalog.load(themeName, environment: env)
            s.theme = t
            if let warning { s.warnings.append(warning) }
        }
        s.glyphs = localeIsUTF8(env) ? .unicode : .ascii
        return s
    }

    /// The effective LC_CTYPE, as setlocale will pick it: LC_ALL, then LC_CTYPE, then LANG.
    static func localeIsUTF8(_ env: [String: String]) -> Bool {
        let value = [env["LC_ALL"], env["LC_CTYPE"], env["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        let l = value.lowercased()
        return l.contains("utf-8") || l.contains("utf8")
    }
}

/// The dashboard's stand-in on a terminal that cannot be drawn on: the fleet table as text, and how
/// to get the dashboard. Never a hard exit (the README promises a fallback).
enum PlainTextMode {
    static func cannotDraw(term: String) -> Bool {
        ["", "dumb", "unknown"].contains(term)
    }

    static func show(source: InventorySource, reason: String) throws {
        FileHandle.standardError.write(Data("fleet: \(reason); showing the fleet as text (set TERM, e.g. TERM=xterm-256color, for the dashboard; `fleet list --json` for scripts)\n".utf8))
        // The dashboard's command is synchronous (its loop owns the main thread); wait here for the load.
        let box = Mutex<Result<ResolvedFleet, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let r: Result<ResolvedFleet, Error>
            do { r = .success(ResolvedFleet(try await InventoryLoader(source: source).loadFresh())) } catch { r = .failure(error) }
            box.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        let fleet: ResolvedFleet
        do { fleet = try box.withLock { $0! }.get() } catch { throw CLIError("fleet: \(error)") }
        print(MachineTable.text(fleet.inventory.machineList, fleet: fleet))
    }
}
