import FleetModel
#if canImport(Glibc)
import Glibc
#endif

/// The Fleet screen's `/` filter index: one lower-cased line per machine, built once per inventory.
enum FleetSearch {
    /// What the `/` filter searches: name, tags, roles and description, lower-cased.
    static func searchFields(_ m: Machine, fleet: ResolvedFleet?) -> [String] {
        [m.name.lowercased(), m.tags.joined(separator: " ").lowercased(),
         (fleet?.roles(of: m.name) ?? []).joined(separator: " ").lowercased(), (m.description ?? "").lowercased()]
    }

    /// The fields as one line (what the filter matches against).
    static func line(_ m: Machine, fleet: ResolvedFleet?) -> String {
        searchFields(m, fleet: fleet).joined(separator: "\n")
    }

    /// The line of every machine of the inventory, in its order (built off the UI thread).
    static func index(_ fleet: ResolvedFleet) -> FleetSearchIndex {
        FleetSearchIndex(fleet.inventory.machines.values.map { searchFields($0, fleet: fleet) })
    }
}

/// Every machine's search line (`FleetSearch.line`), held as its name and the rest of the line —
/// tags, roles, description —, each distinct rest once: at 10k machines the lines are ~2.7 MB as
/// `String`s, this is ~0.3 MB (docs/PERFORMANCE.md, "UI peak RSS, eighth session"). A filter tests a
/// row as it tested its line: a term, which holds no newline, is in the line exactly when it is in
/// the name or in the rest (ASCII, bytewise); anything else is tested on the line itself.
public struct FleetSearchIndex: Sendable {
    private struct Row {
        var nameAt: UInt32
        var nameLength: UInt32
        var rest: UInt32
    }
    /// The names, then the distinct rests, as UTF-8.
    private let bytes: [UInt8]
    private let rows: [Row]
    /// Offset, length and all-ASCII of each distinct rest in `bytes`.
    private let rests: [(at: UInt32, length: UInt32, ascii: Bool)]
    /// Per row: name and rest are both ASCII.
    private let ascii: [Bool]

    var count: Int { rows.count }

    /// From each machine's lower-cased fields (`FleetSearch.searchFields`: name first).
    init(_ fields: [[String]]) {
        var bytes: [UInt8] = []
        var rows: [Row] = []
        rows.reserveCapacity(fields.count)
        var restText: [String] = []
        var restID: [String: UInt32] = [:]
        for f in fields {
            let at = bytes.count
            bytes += (f.first ?? "").utf8
            let rest = f.dropFirst().joined(separator: "\n")
            let id: UInt32
            if let known = restID[rest] {
                id = known
            } else {
                id = UInt32(restText.count)
                restID[rest] = id
                restText.append(rest)
            }
            rows.append(Row(nameAt: UInt32(at), nameLength: UInt32(bytes.count - at), rest: id))
        }
        var rests: [(at: UInt32, length: UInt32, ascii: Bool)] = []
        rests.reserveCapacity(restText.count)
        for r in restText {
            let at = bytes.count
            bytes += r.utf8
            rests.append((UInt32(at), UInt32(bytes.count - at), bytes[at...].allSatisfy { $0 < 0x80 }))
        }
        self.ascii = rows.map { row in
            rests[Int(row.rest)].ascii && bytes[Int(row.nameAt)..<Int(row.nameAt + row.nameLength)].allSatisfy { $0 < 0x80 }
        }
        self.bytes = bytes
        self.rows = rows
        self.rests = rests
    }

    /// The line of row `i`: `FleetSearch.line` of its machine.
    func line(_ i: Int) -> String {
        let r = rows[i], rest = rests[Int(r.rest)]
        return String(decoding: bytes[Int(r.nameAt)..<Int(r.nameAt + r.nameLength)], as: UTF8.self) + "\n"
            + String(decoding: bytes[Int(rest.at)..<Int(rest.at + rest.length)], as: UTF8.self)
    }

    /// `matcher.matches(joined: line(i))`; without making the line when name and rest are ASCII and
    /// `bytewise` is the matcher's `termsAreBytewise`.
    func matches(_ i: Int, _ matcher: FilterMatcher, bytewise: Bool) -> Bool {
        guard bytewise, ascii[i] else { return matcher.matches(joined: line(i)) }
        let r = rows[i], rest = rests[Int(r.rest)]
        return bytes.withUnsafeBytes { raw in
            let name = UnsafeRawBufferPointer(rebasing: raw[Int(r.nameAt)..<Int(r.nameAt + r.nameLength)])
            let other = UnsafeRawBufferPointer(rebasing: raw[Int(rest.at)..<Int(rest.at + rest.length)])
            func found(_ t: String) -> Bool {
                var t = t
                return t.withUTF8 { FilterMatcher.contains(name, UnsafeRawBufferPointer($0)) || FilterMatcher.contains(other, UnsafeRawBufferPointer($0)) }
            }
            for t in matcher.positive where !found(t) { return false }
            for t in matcher.negative where found(t) { return false }
            return true
        }
    }
}
