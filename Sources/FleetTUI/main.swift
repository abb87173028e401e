// Entry point of the `fleet` executable; everything else lives in CLI/, App/, Views/, Backend/.
import Foundation

FleetCommand.main(LogSetup.bootstrap(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
