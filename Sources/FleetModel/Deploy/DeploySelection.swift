import Foundation

/// Which machines a deploy covers, the way `clan machines update` picks them (clan-formats.md §3.1
/// step 2): explicit names are checked (with a suggestion), `--tags` must all match, no names means
/// every machine matching the tags.
public enum DeploySelection {
    public struct SelectionError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func select(_ inventory: Inventory, names: [String], tags: [String]) throws -> [Machine] {
        var chosen: [Machine] = []
        if names.isEmpty {
            chosen = inventory.machineList
        } else {
            for n in names {
                guard let m = inventory.machines[n] else {
                    let suggestion = closest(n, in: Array(inventory.machines.keys))
                    throw SelectionError(description: "Machine '\(n)' not found." + (suggestion.map { " Did you mean: \($0)?" } ?? ""))
                }
                if !chosen.contains(where: { $0.name == n }) { chosen.append(m) }
            }
        }
        if !tags.isEmpty {
            chosen = chosen.filter { m in tags.allSatisfy(m.tags.contains) }
            if chosen.isEmpty {
                throw SelectionError(description: "No machines found with tags: " + tags.joined(separator: " AND "))
            }
        }
        if chosen.isEmpty { throw SelectionError(description: "No machines to update.") }
        return chosen
    }

    public static func closest(_ name: String, in names: [String]) -> String? {
        let scored = names.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= max(2, name.count / 3) }
        return scored.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
