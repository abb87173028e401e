import Foundation

/// Where fleet keeps its files, by the XDG Base Directory spec (0.8): `$XDG_CONFIG_HOME`,
/// `$XDG_STATE_HOME`, `$XDG_CACHE_HOME` when set to an absolute path (the spec says to ignore a
/// relative one), else `~/.config`, `~/.local/state`, `~/.cache`. The one lookup for every file
/// fleet reads or writes outside the clan repository.
public enum XDGDirectories {
    public enum Kind: Sendable {
        /// `config.toml`, `themes/` (and sops' `sops/age/keys.txt`).
        case config
        /// Deploy history, palette history, the log file.
        case state
        /// Evaluated inventories.
        case cache

        var variable: String {
            switch self {
            case .config: return "XDG_CONFIG_HOME"
            case .state: return "XDG_STATE_HOME"
            case .cache: return "XDG_CACHE_HOME"
            }
        }

        var homeDefault: String {
            switch self {
            case .config: return ".config"
            case .state: return ".local/state"
            case .cache: return ".cache"
            }
        }
    }

    /// The base directory itself (`~/.config`), not yet fleet's subdirectory.
    public static func base(_ kind: Kind, environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = env[kind.variable], x.hasPrefix("/") { return x }
        return home(env) + "/" + kind.homeDefault
    }

    /// Fleet's directory in it (`~/.local/state/fleet`), or a file there when `file` is given.
    public static func fleet(_ kind: Kind, _ file: String? = nil,
                             environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let dir = base(kind, environment: env) + "/fleet"
        return file.map { dir + "/" + $0 } ?? dir
    }

    /// `$HOME`, else the password database's home directory.
    public static func home(_ env: [String: String]) -> String {
        if let h = env["HOME"], !h.isEmpty { return h }
        return NSHomeDirectory()
    }
}
