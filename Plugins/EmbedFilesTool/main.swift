// The EmbedFiles plugin's generator: `EmbedFilesTool OUTPUT NAME=DIR…` writes OUTPUT, a Swift file
// defining `EmbeddedFiles.NAME` with every file below DIR (base64, executable bit) and every
// symlink (its target, as written: clan's vars point at sops/ with relative links).
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("EmbedFilesTool: \(message)\n".utf8))
    exit(1)
}

/// A Swift string literal.
func literal(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n") + "\""
}

/// FNV-1a, 64 bit, over every path, kind and content: names the unpacked copy, so a binary built
/// from other files never reuses it.
struct Digest {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        value = (value ^ 0xff) &* 0x0000_0100_0000_01b3   // separator
    }
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else { fail("usage: EmbedFilesTool OUTPUT NAME=DIR…") }
let fm = FileManager.default
var out = """
// Generated at build time by the EmbedFiles plugin (Plugins/EmbedFiles) from the package's
// directories; do not edit.

extension EmbeddedFiles {

"""
for spec in args.dropFirst() {
    guard let eq = spec.firstIndex(of: "=") else { fail("expected NAME=DIR, got \(spec)") }
    let name = String(spec[..<eq])
    let dir = String(spec[spec.index(after: eq)...])
    guard let paths = fm.subpaths(atPath: dir) else { fail("cannot list \(dir)") }
    var digest = Digest()
    var entries: [String] = []
    for rel in paths.sorted() {
        let full = dir + "/" + rel
        let attrs: [FileAttributeKey: Any]
        do { attrs = try fm.attributesOfItem(atPath: full) } catch { fail("\(full): \(error)") }
        let type = attrs[.type] as? FileAttributeType
        if type == .typeSymbolicLink {
            let target: String
            do { target = try fm.destinationOfSymbolicLink(atPath: full) } catch { fail("\(full): \(error)") }
            digest.add(Array(("l" + rel).utf8)); digest.add(Array(target.utf8))
            entries.append("        .init(path: \(literal(rel)), symlink: \(literal(target))),")
        } else if type == .typeRegular {
            guard let data = fm.contents(atPath: full) else { fail("cannot read \(full)") }
            let executable = ((attrs[.posixPermissions] as? Int) ?? 0) & 0o100 != 0
            digest.add(Array(((executable ? "x" : "f") + rel).utf8)); digest.add(data)
            entries.append("        .init(path: \(literal(rel)), executable: \(executable), base64: \(literal(data.base64EncodedString()))),")
        }
    }
    out += "    public static let \(name) = EmbeddedFiles(digest: \(literal(String(digest.value, radix: 16))), entries: [\n"
    out += entries.joined(separator: "\n") + "\n    ])\n\n"
}
out += "}\n"
let output = args[0]
if fm.contents(atPath: output) != Data(out.utf8) {
    do { try out.write(toFile: output, atomically: true, encoding: .utf8) } catch { fail("cannot write \(output): \(error)") }
}
