import FleetModel

/// One zerotier member of one network on the Network screen.
struct NetworkRow: Equatable, Sendable {
    var network: ZerotierNetwork
    var member: ZerotierMember
}

/// The rows of the Network screen (the reducer counts them, the view draws them): every member of
/// every zerotier network that passes the screen's `/` filter.
enum NetworkRows {
    static func rows(_ state: AppState) -> [NetworkRow] {
        let matcher = FilterMatcher(query: state.filters[.network] ?? "")
        return (state.fleet?.zerotier ?? []).flatMap { net in net.members.map { NetworkRow(network: net, member: $0) } }.filter { r in
            matcher.isEmpty || matcher.matches(joined: ([r.member.machine, r.network.instance, r.member.ip ?? ""] + r.member.roles)
                .joined(separator: "\n").lowercased())
        }
    }
}
