import Collections

/// Removes the wrapper `inventorySerialization` puts around every settings value:
/// `{"imports":[{"_file":"<file>, via option <loc>","imports":[VALUE]}]}`.
///
/// Mirrors `unwrap_known_unknown` / `sanitize` in clan_lib/persist/inventory_store.py: the decoder
/// calls this only at the whitelisted paths `instances.*.roles.*.settings`,
/// `instances.*.roles.*.machines.*.settings` and `instances.*.roles.*.tags.*.settings`; anything
/// else named `imports` is user data and stays as it is.
public enum SettingsWrapper {
    public static func unwrap(_ value: JSONValue, file: String, at path: String) throws -> Settings {
        if value.isNull { return Settings() }
        guard let o = value.objectValue else {
            throw InventoryError(file: file, path: path, message: "expected object, found \(value.typeName)")
        }
        // Plain settings (inventory.json form): settings must not use `imports` (clan's
        // uniqueDeferredSerializableModule), so a lone `imports` key means the wrapper.
        guard o.count == 1, let imports = o["imports"] else { return Settings(value) }
        guard let defs = imports.arrayValue else {
            throw InventoryError(file: file, path: "\(path).imports", message: "expected array, found \(imports.typeName)")
        }
        var values: [JSONValue] = []
        var files: [String] = []
        for (i, def) in defs.enumerated() {
            let defPath = "\(path).imports[\(i)]"
            guard let d = def.objectValue else {
                throw InventoryError(file: file, path: defPath, message: "expected object, found \(def.typeName)")
            }
            if let f = d["_file"], !f.isNull {
                guard let s = f.stringValue else {
                    throw InventoryError(file: file, path: "\(defPath)._file", message: "expected string, found \(f.typeName)")
                }
                files.append(s)
            }
            guard let inner = d["imports"]?.arrayValue else {
                throw InventoryError(file: file, path: "\(defPath).imports",
                                     message: "expected array, found \(d["imports"]?.typeName ?? "nothing")")
            }
            for (j, v) in inner.enumerated() {
                guard v.objectValue != nil else {
                    throw InventoryError(file: file, path: "\(defPath).imports[\(j)]", message: "expected object, found \(v.typeName)")
                }
                values.append(v)
            }
        }
        // One definition is the norm (the option allows exactly one); several are merged in order.
        let merged = values.dropFirst().reduce(values.first ?? .object([:])) { SettingsMerge.merge($0, $1) }
        return Settings(merged, definedIn: files.isEmpty ? nil : files.joined(separator: "; "))
    }
}

/// Combining settings of several levels into what applies to one machine.
public enum SettingsMerge {
    /// `overlay` on top of `base`: objects merge key by key (recursively), anything else is replaced.
    ///
    /// Clan merges the levels as Nix module definitions (role settings, the settings of each of the
    /// machine's tags listed in the role, then the machine's own settings); the module system merges
    /// attribute sets recursively. Where it would concatenate lists or reject two different scalars,
    /// we show the more specific level's value — the one a user expects to "win".
    public static func merge(_ base: JSONValue, _ overlay: JSONValue) -> JSONValue {
        guard case .object(var b) = base, case .object(let o) = overlay else { return overlay }
        for (k, v) in o {
            if let existing = b[k] { b[k] = merge(existing, v) } else { b[k] = v }
        }
        return .object(b)
    }
}
