/// The catalog's generators by id: a dense array and a table of positions, instead of a
/// `[GeneratorID: Generator]` whose buckets hold whole `Generator`s. At 10k machines × 10 generators
/// the dictionary rounded 100k entries up to 262k buckets of ~200 B (52 MB, heaptrack, the Vars
/// screen's memory peak); here the buckets hold a 4-byte position and the generators sit once in
/// an array. Iteration order is insertion order.
public struct GeneratorTable: Sendable {
    private var positions: [GeneratorID: Int32] = [:]
    /// Every generator, in the order it was first added.
    public private(set) var values: ContiguousArray<Generator> = []

    public init() {}

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    /// The ids, in `values`' order.
    public var keys: [GeneratorID] { values.map(\.id) }

    mutating func reserveCapacity(_ n: Int) {
        positions.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    public subscript(id: GeneratorID) -> Generator? {
        get { positions[id].map { values[Int($0)] } }
        set {
            if let i = positions[id] {
                if let newValue { values[Int(i)] = newValue } else { remove(at: Int(i)) }
            } else if let newValue {
                positions[id] = Int32(values.count)
                values.append(newValue)
            }
        }
    }

    /// Changes the generator `id` in place (no copy of it); false when there is none.
    @discardableResult
    mutating func modify(_ id: GeneratorID, _ body: (inout Generator) throws -> Void) rethrows -> Bool {
        guard let i = positions[id] else { return false }
        try body(&values[Int(i)])
        return true
    }

    private mutating func remove(at i: Int) {
        positions[values[i].id] = nil
        values.remove(at: i)
        for j in i..<values.count { positions[values[j].id] = Int32(j) }
    }
}
