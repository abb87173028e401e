/// `$XDG_CONFIG_HOME/fleet/config.toml`:
///
/// ```toml
/// flake = "~/src/my-clan"      # default --flake
/// theme = "light"
/// jobs = 4                     # parallel deploys
/// host_key_policy = "ask"      # clan's default; or strict, accept-new, tofu, none
/// [keys]
/// deploy = "D"                 # or a list: ["D", "ctrl-d"]
/// ```
public struct FleetConfig: Equatable, Sendable {
    /// The deploy's `--host-key-check` (`FleetModel.HostKeyPolicy`), clan's default `ask`.
    public enum HostKeyPolicy: String, Sendable { case strict, ask, acceptNew = "accept-new", tofu, none }

    public var flake: String?
    public var theme: String?
    public var jobs: Int?
    public var hostKeyPolicy: HostKeyPolicy = .ask
    /// Key overrides as written: action name → key names, with the line for error messages.
    public var keys: [(action: String, keys: [String], line: Int?)] = []

    public init() {}

    public static func == (a: FleetConfig, b: FleetConfig) -> Bool {
        a.flake == b.flake && a.theme == b.theme && a.jobs == b.jobs && a.hostKeyPolicy == b.hostKeyPolicy
            && a.keys.map(\.action) == b.keys.map(\.action) && a.keys.map(\.keys) == b.keys.map(\.keys)
    }

    public static func parse(_ text: String, file: String) throws -> FleetConfig {
        let src = try TOMLSource(text: text, file: file)
        var c = FleetConfig()
        for key in src.table.keys {
            let v = src.table[key]
            switch key {
            case "flake":
                guard let s = v?.string, !s.isEmpty else { throw src.error(key, "expected a path string") }
                c.flake = s
            case "theme":
                guard let s = v?.string, !s.isEmpty else { throw src.error(key, "expected a theme name") }
                c.theme = s
            case "jobs":
                guard let n = v?.int, n >= 1, n <= 1024 else { throw src.error(key, "expected an integer from 1 to 1024") }
                c.jobs = n
            case "host_key_policy":
                guard let s = v?.string, let p = HostKeyPolicy(rawValue: s) else {
                    throw src.error(key, "expected one of \"ask\", \"strict\", \"accept-new\", \"tofu\", \"none\"")
                }
                c.hostKeyPolicy = p
            case "keys":
                guard let t = v?.table else { throw src.error(key, "expected a table [keys]") }
                for action in t.keys {
                    if let s = t[action]?.string {
                        c.keys.append((action, [s], src.line(of: action, in: "keys")))
                    } else if let arr = t[action]?.array {
                        var ks: [String] = []
                        for item in arr {
                            guard let s = item.string else { throw src.error(action, in: "keys", "expected key names as strings") }
                            ks.append(s)
                        }
                        c.keys.append((action, ks, src.line(of: action, in: "keys")))
                    } else {
                        throw src.error(action, in: "keys", "expected a key name or a list of key names")
                    }
                }
            default:
                throw src.error(key, "unknown setting (flake, theme, jobs, host_key_policy, [keys])")
            }
        }
        return c
    }
}
