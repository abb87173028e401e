import Foundation

/// Which machines a deploy covers, the way `clan machines update` picks them (clan-formats.md §3.1
/// step 2): explicit names are checked (with a suggestion), `--tags` must all match, no names means
/// every machine matching the tags except those whose config sets
/// `clan.core.deployment.requireExplicitUpdate` (clan_cli/machines/update.py:102-160).
public enum DeploySelection {
    /// What a deploy covers, and the machines an implicit deploy left out (requireExplicitUpdate).
    public struct Result: Equatable, Sendable {
        public var machines: [Machine]
        public var skippedExplicitOnly: [String]
    }

    /// `explicitOnly`: machines with requireExplicitUpdate (`ClanDeployConfig.explicitOnly`). They
    /// are deployed only when named. Nothing left: clan's `No machines to update.` plus the names.
    public static func select(_ inventory: Inventory, names: [String], tags: [String], explicitOnly: Set<String>) throws -> Result {
        let all = try select(inventory, names: names, tags: tags, allowEmpty: true)
        guard names.isEmpty else { return Result(machines: all, skippedExplicitOnly: []) }
        let kept = all.filter { !explicitOnly.contains($0.name) }
        let skipped = all.filter { explicitOnly.contains($0.name) }.map(\.name)
        if kept.isEmpty {
            var msg = "No machines to update."
            if !skipped.isEmpty {
                msg += " These machines require an explicit update (clan.core.deployment.requireExplicitUpdate); name them: "
                    + skipped.joined(separator: " ")
            }
            throw SelectionError(description: msg)
        }
        return Result(machines: kept, skippedExplicitOnly: skipped)
    }
    public struct SelectionError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static func select(_ inventory: Inventory, names: [String], tags: [String], allowEmpty: Bool = false) throws -> [Machine] {
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
        if chosen.isEmpty, !allowEmpty { throw SelectionError(description: "No machines to update.") }
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
