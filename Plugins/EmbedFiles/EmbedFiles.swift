import Foundation
import PackagePlugin

/// Builds the package's `inventory/` (the demo fleet) and `themes/` into FleetModel as generated
/// Swift (`EmbeddedFiles.demo`, `.themes`), so the `fleet` binary alone carries them: an installed
/// copy has no source tree to read them from, and a SwiftPM resource bundle would have to travel
/// next to it. Every file is an input, so editing, adding or removing one rebuilds.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let sets = [("demo", root.appending(path: "inventory")), ("themes", root.appending(path: "themes"))]
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles+Generated.swift")
        return [.buildCommand(displayName: "Embedding the demo fleet and the themes into \(target.name)",
                              executable: try context.tool(named: "EmbedFilesTool").url,
                              arguments: [output.path] + sets.map { "\($0.0)=\($0.1.path)" },
                              inputFiles: sets.flatMap { entries(under: $0.1) },
                              outputFiles: [output])]
    }

    /// Every file and symlink below `dir`.
    private func entries(under dir: URL) -> [URL] {
        let keys: Set<URLResourceKey> = [.isRegularFileKey, .isSymbolicLinkKey]
        guard let walk = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: Array(keys)) else { return [] }
        return walk.compactMap { $0 as? URL }.filter { url in
            guard let v = try? url.resourceValues(forKeys: keys) else { return false }
            return v.isRegularFile == true || v.isSymbolicLink == true
        }
    }
}
