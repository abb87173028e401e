/// nix `--log-format internal-json` on stderr (`NixLogParser`, `NixProgress`): what a local or remote
/// nix (a build host, a target's nix during copy) sends fleet during a deploy. Every line of the input
/// is one stderr line; the whole input is one deploy's stream, folded into one progress state.
enum FuzzNixLog {
    static func run(_ bytes: [UInt8]) {
        var progress = NixProgress()
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let text = String(decoding: line, as: UTF8.self)
            _ = progress.consume(text)
        }
        _ = progress.buildFraction
    }
}
