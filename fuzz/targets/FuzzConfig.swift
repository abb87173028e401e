/// The TOML readers: `config.toml` and theme files (TOMLKit/toml++ underneath, then our checks).
enum FuzzConfig {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? FleetConfig.parse(text, file: "config.toml")
        _ = try? ThemeSpec.parse(text, file: "theme.toml")
    }
}
