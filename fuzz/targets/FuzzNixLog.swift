/// Slot for the nix `--log-format internal-json` parser (Sources/FleetModel/Deploy/NixLogParser.swift,
/// branch `deploy`): wired in when it lands on main. Until then this target parses each line as JSON,
/// which is what the log parser will do first.
enum FuzzNixLog {
    static func run(_ bytes: [UInt8]) {
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let prefix = Array("@nix ".utf8)
            guard line.starts(with: prefix) else { continue }
            _ = try? JSONParser.parse(Array(line.dropFirst(prefix.count)))
        }
    }
}
