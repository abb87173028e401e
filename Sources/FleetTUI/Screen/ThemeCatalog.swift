import Foundation
import FleetModel

/// Finds and loads themes: user themes in `$XDG_CONFIG_HOME/fleet/themes`, then `FLEET_THEMES_DIR`,
/// then the ones built into the binary (the repository's `themes/`, `EmbeddedFiles.themes`). A
/// broken file yields the default theme plus an error that names the file, key and line.
public enum ThemeCatalog {
    /// The directories searched before the built-in themes.
    public static func directories(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var dirs: [String] = []
        dirs.append(XDGDirectories.fleet(.config, "themes", environment: environment))
        if let d = environment["FLEET_THEMES_DIR"], !d.isEmpty { dirs.append(d) }
        return dirs
    }

    /// The built-in themes' names.
    static var builtIn: [String] {
        EmbeddedFiles.themes.entries.map(\.path).filter { $0.hasSuffix(".toml") && !$0.contains("/") }.map { String($0.dropLast(5)) }
    }

    public static func names(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var out: Set<String> = ["default"]
        out.formUnion(builtIn)
        for d in directories(environment: environment) {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where f.hasSuffix(".toml") {
                out.insert(String(f.dropLast(5)))
            }
        }
        return out.sorted()
    }

    /// The theme called `name`, or the default one with the reason it could not be used.
    public static func load(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> (Theme, String?) {
        let files = directories(environment: environment).map { d in
            (path: d + "/" + name + ".toml", data: FileManager.default.contents(atPath: d + "/" + name + ".toml"))
        } + [(path: "built-in themes/" + name + ".toml", data: EmbeddedFiles.themes.contents(name + ".toml"))]
        for (path, data) in files {
            guard let data else { continue }
            guard let text = String(data: data, encoding: .utf8) else {
                return (.defaultDark, "\(path): not UTF-8 text; using the default theme")
            }
            do {
                let spec = try ThemeSpec.parse(text, file: path)
                return (Theme.defaultDark.applying(spec, name: name), nil)
            } catch {
                return (.defaultDark, "\(error); using the default theme")
            }
        }
        if name == "default" { return (.defaultDark, nil) }
        return (.defaultDark, "theme '\(name)' not found in \(directories(environment: environment).joined(separator: ", ")) or the built-in themes (\(builtIn.sorted().joined(separator: ", "))); using the default theme")
    }
}

extension Theme {
    /// This theme with the roles a theme file sets replaced.
    public func applying(_ spec: ThemeSpec, name: String) -> Theme {
        var t = self
        t.name = spec.name.isEmpty ? name : spec.name
        for (role, st) in spec.styles {
            guard let kp = Theme.roleKeyPaths[role] else { continue }
            // A role in a file is complete: unspecified attributes are off, colours default.
            var s = Style()
            s.fg = st.fg.map(TermColor.init) ?? .default
            s.bg = st.bg.map(TermColor.init) ?? .default
            s.bold = st.bold ?? false
            s.dim = st.dim ?? false
            s.reverse = st.reverse ?? false
            s.underline = st.underline ?? false
            t[keyPath: kp] = s
        }
        return t
    }

    static let roleKeyPaths: [String: WritableKeyPath<Theme, Style> & Sendable] = [
        "base": \.base, "header": \.header, "badge": \.badge, "tabActive": \.tabActive,
        "tabInactive": \.tabInactive, "tableHeader": \.tableHeader, "cursor": \.cursor, "marked": \.marked,
        "dim": \.dim, "ok": \.ok, "warn": \.warn, "error": \.error, "accent": \.accent, "match": \.match,
        "statusBar": \.statusBar, "statusKey": \.statusKey, "border": \.border,
    ]
}

extension TermColor {
    init(_ c: ColorSpec) {
        switch c {
        case .default: self = .default
        case .ansi(let n): self = .ansi(n)
        case .indexed(let n): self = .indexed(n)
        }
    }
}
