/// Shares the storage of values that repeat across a large fleet: a 10k-machine inventory has a few
/// hundred distinct tag lists and descriptions, and without this each machine holds its own heap
/// copy. Strings of up to 15 UTF-8 bytes are stored inline by Swift and need no sharing.
struct StringInterner {
    private var strings: Set<String> = []
    private var lists: Set<[String]> = []

    mutating func intern(_ s: String) -> String {
        guard s.utf8.count > 15 else { return s }
        if let shared = strings.firstIndex(of: s) { return strings[shared] }
        strings.insert(s)
        return s
    }

    mutating func intern(_ list: [String]) -> [String] {
        guard !list.isEmpty else { return list }
        if let shared = lists.firstIndex(of: list) { return lists[shared] }
        lists.insert(list)
        return list
    }
}
