import ArgumentParser
import Foundation
import Collections
import FleetModel

/// `fleet list [--json]`: the machines of the fleet, like `clan machines list` with more columns.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the machines of the fleet.",
        discussion: """
        Examples:
          fleet list
          fleet list --tags nixos peer          machines carrying every listed tag (like clan)
          fleet list --json | python3 -m json.tool
        """)

    @OptionGroup var sourceOptions: SourceOptions

    @Option(parsing: .upToNextOption, help: "Only machines that carry all of these tags.")
    var tags: [String] = []

    @Flag(help: "Print a JSON array of machine objects.")
    var json = false

    /// The name of `list --json`'s stored output in the resolved-fleet cache.
    static let renderingName = "list-json"

    func run() async throws {
        // A directory source whose cached fleet still holds: its stored output, as it is.
        let cache = ResolvedFleetCache(directory: InventoryCache.defaultDirectory())
        let directory: String? = if json, tags.isEmpty, case .directory(let d)? = try? sourceOptions.source() { d } else { nil }
        if let directory, let stored = cache.rendering(Self.renderingName, source: directory) {
            guard stored.write(to: STDOUT_FILENO) else { throw CLIError("fleet: stdout: \(String(cString: strerror(errno)))") }
            return
        }
        // Parsed, resolved and printed once, then exit: big blocks are reused from the heap.
        if json { MallocPolicy.applyOneShot() }
        let fleet: ResolvedFleet
        var store: (@Sendable () -> UInt64?)?
        do { (fleet, store) = try await sourceOptions.loadFleetDeferringStore() } catch { throw CLIError("fleet: \(error)") }
        guard json else {
            // The resolved-fleet cache is written after the output (it must not delay it).
            defer { _ = store?() }
            print(MachineTable.text(machines(of: fleet), fleet: fleet))
            return
        }
        // --json: the cache is encoded and written on another core while the output is made (both
        // only read the fleet), so neither waits for the other.
        let storing = store.map { s in Task.detached { s() } }
        let out: [[UInt8]]?
        do { out = try writeJSON(fleet, keep: directory != nil) } catch {
            _ = await storing?.value
            throw error
        }
        let stored = await storing?.value
        if let directory, let out, let paired = storing == nil ? fleet.cacheChecksum : stored {
            // Paired with the fleet file this output was made from: the one just stored, or the
            // one every address came from.
            cache.storeRendering(Self.renderingName, pieces: out, source: directory, fleet: paired)
        }
        // Everything is written (stdout by write(2), the cache files renamed into place): exit
        // without freeing the fleet piece by piece (10k machines' strings, dictionaries and
        // buffers; ~2 % of a cold run's CPU), as compilers do.
        Foundation.exit(0)
    }

    /// The machines asked for (`--tags`: those carrying every tag; an unknown tag is warned about).
    private func machines(of fleet: ResolvedFleet) -> [Machine] {
        let machines = tags.isEmpty ? fleet.inventory.machineList
            : fleet.inventory.machineList.filter { m in tags.allSatisfy { m.tags.contains($0) } }
        // A tag no machine carries is most likely a typo: say so (on stderr; stdout stays the table).
        if !tags.isEmpty {
            let known = Set(fleet.inventory.machineList.flatMap(\.tags))
            for t in tags where !known.contains(t) {
                FileHandle.standardError.write(Data("warning: no machine has the tag '\(t)' (known tags: \(known.sorted().joined(separator: ", ")))\n".utf8))
            }
        }
        return machines
    }

    /// Writes `--json` to stdout; the whole output when `keep` (to be stored as the cache's
    /// rendering, in the pieces it was written in), else nil.
    private func writeJSON(_ fleet: ResolvedFleet, keep: Bool) throws -> [[UInt8]]? {
        let all = fleet.inventory.machines.values
        // Rows (inventory order) of the machines asked for: roles are looked up by row.
        let rows: [Int] = tags.isEmpty ? Array(all.indices) : machines(of: fleet).map { fleet.inventory.machines.index(forKey: $0.name)! }
        // Taken once: each `fleet.target(of:)` copied the fleet's dictionaries out of it.
        let targets = fleet.targets, overlayIPs = fleet.overlayIPs
        // Streamed member by member (no JSONValue tree) and written out in pieces of ~256 kB as
        // they are made, so the first byte goes out early (docs/PERFORMANCE.md, perf-cold). A kept
        // output is kept as those pieces (a growing 5 MB buffer was copied and faulted in again
        // at each doubling); otherwise the buffer is reused for each piece.
        let piece = 1 << 18
        var out: [UInt8] = []
        out.reserveCapacity(piece + piece / 2)
        var pieces: [[UInt8]] = []
        var failure: Error?
        func flush(_ buf: inout [UInt8]) {
            if failure == nil { do { try FileHandle.standardOutput.write(contentsOf: buf) } catch { failure = error } }
            if keep {
                pieces.append(buf)
                buf = []
                buf.reserveCapacity(piece + piece / 2)
            } else {
                buf.removeAll(keepingCapacity: true)
            }
        }
        fleet.withRolesOfRows { roles in
            JSONWriter(indent: "  ").appendObjects(rows, into: &out, drainAt: piece, drain: flush) { row, members, out in
                let m = all[row]
                MachineJSON.write(m, roles: roles(row, m.name), target: targets[m.name]?.address, overlayIP: overlayIPs[m.name],
                                  &members, into: &out)
            }
        }
        out.append(0x0A)
        flush(&out)
        if let failure { throw CLIError("fleet: stdout: \(failure)") }
        return keep ? pieces : nil
    }
}

/// The JSON shape of a machine in `fleet list --json` / `fleet show --json`.
enum MachineJSON {
    static func object(_ m: Machine, fleet: ResolvedFleet? = nil) -> JSONValue {
        .object(OrderedDictionary(uniqueKeysWithValues: members(m, fleet: fleet)))
    }

    /// The object's members in order (`list --json` streams them without building the object).
    static func members(_ m: Machine, fleet: ResolvedFleet? = nil) -> [(key: String, value: JSONValue)] {
        [("name", .string(m.name)),
         ("class", .string(m.machineClass.rawValue)),
         ("system", m.system.map { .string($0) } ?? .null),
         ("tags", .array(m.tags.map { .string($0) })),
         ("description", m.description.map { .string($0) } ?? .null),
         ("targetHost", m.deploy.targetHost.map { .string($0) } ?? .null),
         ("roles", .array((fleet?.roles(of: m.name) ?? []).map { .string($0) })),
         ("target", fleet?.target(of: m.name).map { .string($0.address) } ?? .null),
         ("overlayIP", fleet?.overlayIP(of: m.name).map { .string($0) } ?? .null),
         ("buildHost", m.deploy.buildHost.map { .string($0) } ?? .null),
         ("installedAt", m.installedAt.map { JSONValue($0) } ?? .null)]
    }

    /// The same members written straight as bytes (`fleet list --json`: no `JSONValue` per member;
    /// `ListCommandTests` checks the bytes against the tree of `members`).
    static func write(_ m: Machine, fleet: ResolvedFleet?, _ o: inout JSONWriter.Members, into out: inout [UInt8]) {
        write(m, roles: fleet?.roles(of: m.name) ?? [], target: fleet?.target(of: m.name)?.address,
              overlayIP: fleet?.overlayIP(of: m.name), &o, into: &out)
    }

    /// The same with the fleet's part given (`fleet list --json` looks it up once for all machines).
    static func write(_ m: Machine, roles: [String], target: String?, overlayIP: String?,
                      _ o: inout JSONWriter.Members, into out: inout [UInt8]) {
        o.string("name", m.name, into: &out)
        o.string("class", m.machineClass.rawValue, into: &out)
        o.string("system", m.system, into: &out)
        o.strings("tags", m.tags, into: &out)
        o.string("description", m.description, into: &out)
        o.string("targetHost", m.deploy.targetHost, into: &out)
        o.strings("roles", roles, into: &out)
        o.string("target", target, into: &out)
        o.string("overlayIP", overlayIP, into: &out)
        o.string("buildHost", m.deploy.buildHost, into: &out)
        o.int("installedAt", m.installedAt, into: &out)
    }

    static func array(_ inv: Inventory) -> JSONValue {
        .array(inv.machineList.map { object($0) })
    }
}

/// Plain-text table for terminals and pipes.
enum MachineTable {
    static func text(_ machines: [Machine], fleet: ResolvedFleet? = nil) -> String {
        let header = ["NAME", "CLASS", "SYSTEM", "TAGS", "ROLES", "TARGET", "DESCRIPTION"]
        let rows = machines.map { m in
            [m.name, m.machineClass.rawValue, m.system ?? "-", m.userTags.joined(separator: ","),
             FleetColumn.rolesText(fleet?.roles(of: m.name) ?? []),
             fleet?.target(of: m.name)?.address ?? m.deploy.targetHost ?? "-", m.description ?? ""]
        }
        var widths = header.map { DisplayWidth.of($0) }
        for r in rows { for (i, c) in r.enumerated() where i < header.count - 1 { widths[i] = max(widths[i], DisplayWidth.of(c)) } }
        func line(_ cols: [String]) -> String {
            cols.enumerated().map { i, c in i == cols.count - 1 ? c : DisplayWidth.pad(c, to: widths[i]) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
