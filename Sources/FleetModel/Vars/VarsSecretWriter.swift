import Foundation

/// Writes vars the way clan's in_repo public store and sops secret store do (clan-formats.md §2.2,
/// §2.3): `value` files, `secret` files with `machines/`, `users/`, `groups/` symlinks, machine keys.
/// Every file goes through `VarsAtomicWrite`.
struct VarsSecretWriter {
    let clanDirectory: String
    let backend: VarsSecretBackend
    let adminUser: String
    let groups: (String) -> [String]

    var fm: FileManager { .default }

    /// `../` count from `<secretDir>/<kind>/` to the clan root.
    func linkTarget(secretRel: String, kind: String, name: String) -> String {
        let depth = secretRel.split(separator: "/").count + 1
        return String(repeating: "../", count: depth) + "sops/\(kind)/\(name)"
    }

    func addLink(secretRel: String, kind: String, name: String) throws {
        try VarsAtomicWrite.symlink(target: linkTarget(secretRel: secretRel, kind: kind, name: name),
                               at: clanDirectory + "/" + secretRel + "/" + kind + "/" + name)
    }

    func removeLink(secretRel: String, kind: String, name: String) {
        let dir = clanDirectory + "/" + secretRel + "/" + kind
        unlink(dir + "/" + name)
        if ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).isEmpty { rmdir(dir) }
    }

    /// Creates `sops/machines/<m>/key.json` and `sops/secrets/<m>-age.key/` when missing
    /// (clan's `ensure_machine_key`). Returns the paths written, relative to the clan dir.
    func ensureMachineKey(_ machine: String, keys: inout SopsKeyIndex) throws -> [String] {
        if keys.hasMachine(machine) { return [] }
        let (identity, recipient) = backend.generateIdentity()
        let secretRel = "sops/secrets/\(machine)-age.key"
        try addLink(secretRel: secretRel, kind: "users", name: adminUser)
        for g in groups(machine) { try addLink(secretRel: secretRel, kind: "groups", name: g) }
        let wanted = SecretLinks.read(secretDir: clanDirectory + "/" + secretRel).keys.union(backend.adminRecipients)
        try VarsAtomicWrite.write(Array(try backend.encrypt(identity, to: wanted.sorted()).utf8), to: clanDirectory + "/" + secretRel + "/secret")
        // clan writes key.json as a sorted, 2-space indented array with a final newline.
        let json = "[\n  {\n    \"publickey\": \"\(recipient.publicKey)\",\n    \"type\": \"age\"\n  }\n]\n"
        try VarsAtomicWrite.write(Array(json.utf8), to: clanDirectory + "/sops/machines/\(machine)/key.json")
        var machines = keys.machines
        machines[machine] = [recipient]
        keys = SopsKeyIndex(users: keys.users, machines: machines, problems: keys.problems)
        return ["sops/machines/\(machine)", secretRel]
    }

    /// Stores one secret var: links for `machines` (deployed to), the machines' default groups and the
    /// admin user (clan's `encrypt_secret` always adds the admin running it); existing links are kept.
    func writeSecret(secretRel: String, value: [UInt8], machines: [String], groupMachines: [String]) throws {
        for m in machines { try addLink(secretRel: secretRel, kind: "machines", name: m) }
        for m in groupMachines { for g in groups(m) { try addLink(secretRel: secretRel, kind: "groups", name: g) } }
        try addLink(secretRel: secretRel, kind: "users", name: adminUser)
        let recipients = wantedRecipients(secretRel: secretRel, groupMachines: groupMachines)
        try VarsAtomicWrite.write(Array(try backend.encrypt(value, to: recipients.sorted()).utf8), to: clanDirectory + "/" + secretRel + "/secret")
    }

    func wantedRecipients(secretRel: String, groupMachines: [String]) -> Set<SopsKeyRef> {
        var keys = SecretLinks.read(secretDir: clanDirectory + "/" + secretRel).keys
        for m in groupMachines {
            for g in groups(m) { keys.formUnion(SecretLinks.read(secretDir: clanDirectory + "/sops/groups/" + g).keys) }
        }
        return keys
    }
}
