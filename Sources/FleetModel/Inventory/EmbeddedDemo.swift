import Foundation

/// The demo fleet built into the binary (`EmbeddedFiles.demo`, from the repository's `inventory/`),
/// unpacked once per content into `$XDG_CACHE_HOME/fleet/demo-<digest>`: fleet reads the demo as
/// the clan directory it is (vars, sops, clan's relative symlinks), so it needs real files — and an
/// installed binary has no source tree to find them in. The copy stays read-only for fleet
/// (`InventorySource.writableDirectory`).
public enum EmbeddedDemo {
    /// Where this binary's demo is (or will be) unpacked.
    public static func location(environment: [String: String]) -> String {
        XDGDirectories.fleet(.cache, "demo-" + EmbeddedFiles.demo.digest, environment: environment)
    }

    /// The unpacked demo, unpacking it first when this content is not there yet. Unpacked beside
    /// and renamed into place, so a reader never sees half of it and two fleets starting at once
    /// both end up with one whole copy.
    public static func unpacked(environment: [String: String]) throws -> String {
        let dir = location(environment: environment)
        let fm = FileManager.default
        if fm.fileExists(atPath: dir) { return dir }
        let staging = dir + ".partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? fm.removeItem(atPath: staging) }
        do {
            try EmbeddedFiles.demo.write(to: staging)
            try fm.moveItem(atPath: staging, toPath: dir)
        } catch {
            if fm.fileExists(atPath: dir) { return dir }   // another fleet unpacked it meanwhile
            throw InventorySourceError("cannot unpack the built-in demo fleet into \(dir): \(error)")
        }
        return dir
    }
}
