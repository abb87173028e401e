import ArgumentParser
import Foundation
import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// `fleet ui` (the default): the full-screen dashboard.
struct UICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Open the dashboard (the default when no subcommand is given).")

    @OptionGroup var sourceOptions: SourceOptions

    func run() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw CLIError("fleet: the dashboard needs a terminal; for scripts use `fleet list --json`")
        }
        let env = ProcessInfo.processInfo.environment
        let noColor = env["NO_COLOR"].map { !$0.isEmpty } ?? false
        let source = sourceOptions.source()
        let ctx = RenderContext(theme: noColor ? .monochrome : .defaultDark, glyphs: .unicode)
        let loop = EventLoop(state: AppState(source: source, width: 80, height: 24), ctx: ctx, noColor: noColor)
        let status = loop.run(initialEffects: [.loadInventory(source)])
        if status != 0 { throw ExitCode(status) }
    }
}
