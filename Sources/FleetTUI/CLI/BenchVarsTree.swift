import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// A synthetic clan vars tree for `make bench` (vars status at 10k × 10), in clan's real layout
/// (clan-formats.md §2.2–2.3):
///
///     sops/users/admin/key.json, sops/machines/<m>/key.json          one real age key each
///     vars/per-machine/<m>/gen-<g>/key/secret                         sops JSON, recipients: <m> + admin
///     vars/per-machine/<m>/gen-<g>/key/{machines/<m>,users/admin}     symlinks to the sops key dirs
///     vars/per-machine/<m>/gen-<g>/key.pub/value                      public value
///     generators.json                                                 every machine declares gen-0…gen-(G-1)
///
/// Status only reads recipients, so one secret is encrypted with `Sops.encryptClanSecret` to a
/// placeholder key + admin, and each machine's copy has the placeholder replaced by the machine's own
/// recipient (its `enc` stanza would not decrypt for that key; status never decrypts). Written with
/// POSIX calls because it is ~1M inodes at 10k × 10.
struct BenchVarsTree {
    let machineNames: [String]
    let generators: Int

    func write(to dir: String) throws {
        let admin = AgeIdentity.generate()
        try mkdirs(dir + "/sops/users/admin")
        try writeFile(dir + "/sops/users/admin/key.json", Self.keyJSON(admin.recipient.encoded))
        let placeholder = AgeIdentity.generate().recipient.encoded
        let plain = Array("bench-secret-value-0123456789abcdef".utf8)
        let template = try Sops.encryptClanSecret(plain, recipients: [try AgeRecipient(parsing: placeholder), admin.recipient])
        let parts = template.components(separatedBy: placeholder)
        guard parts.count == 2 else { throw CLIError("fleet: placeholder recipient not found once in the sops template") }
        for m in machineNames {
            let mk = AgeIdentity.generate().recipient.encoded
            try mkdirs(dir + "/sops/machines/" + m)
            try writeFile(dir + "/sops/machines/\(m)/key.json", Self.keyJSON(mk))
            let secret = parts[0] + mk + parts[1]
            for g in 0..<generators {
                let gen = dir + "/vars/per-machine/\(m)/gen-\(g)"
                try mkdirs(gen + "/key/machines")
                try mkdirs(gen + "/key/users")
                try mkdirs(gen + "/key.pub")
                try writeFile(gen + "/key/secret", secret)
                try link("../../../../../../sops/machines/" + m, gen + "/key/machines/" + m)
                try link("../../../../../../sops/users/admin", gen + "/key/users/admin")
                try writeFile(gen + "/key.pub/value", "ssh-ed25519 AAAA\(m)-\(g)\n")
            }
        }
        var gens: [String] = []
        for g in 0..<generators { gens.append("\"gen-\(g)\": {\"template\": \"key\"}") }
        let perMachine = "{\"generators\": {" + gens.joined(separator: ", ") + "}}"
        let machines = machineNames.map { "\"\($0)\": \(perMachine)" }.joined(separator: ",\n    ")
        try writeFile(dir + "/generators.json", """
            {
              "version": 1,
              "templates": {"key": {"files": {"key": {"secret": true}, "key.pub": {"secret": false}}}},
              "machines": {
                \(machines)
              }
            }

            """)
    }

    static func keyJSON(_ recipient: String) -> String {
        "[\n  {\n    \"publickey\": \"\(recipient)\",\n    \"type\": \"age\"\n  }\n]\n"
    }

    /// `mkdir -p`, trying the leaf first (its parent usually exists).
    private func mkdirs(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw CLIError("fleet: mkdir \(path): \(String(cString: strerror(errno)))") }
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != path else { throw CLIError("fleet: mkdir \(path): no parent") }
        try mkdirs(parent)
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw CLIError("fleet: mkdir \(path): \(String(cString: strerror(errno)))") }
    }

    private func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CLIError("fleet: open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw CLIError("fleet: write \(path): short write") }
    }

    private func link(_ target: String, _ path: String) throws {
        if symlink(target, path) != 0 && errno != EEXIST { throw CLIError("fleet: symlink \(path): \(String(cString: strerror(errno)))") }
    }
}
