/// The positions of unique ids, found through a seeded XXH3-64 of their UTF-8 in an
/// open-addressed table: what a `[String: Int]` gives, without hashing every id through
/// the standard library's `Hasher`, which took a third of validating a large corpus.
public struct IDIndex: Sendable {
    /// Each slot's position, or -1 when it is empty.
    private var positions: [Int32]
    /// Each slot's id hash, compared before the id itself.
    private var hashes: [UInt64]
    /// Each slot's id.
    private var ids: [String]
    /// How many ids the index holds.
    public private(set) var count = 0

    /// One seed per process, so that which ids collide cannot be planned in a corpus.
    private static let seed = UInt64.random(in: .min ... .max)

    /// An empty index with room for `capacity` ids before it grows.
    public init(capacity: Int = 0) {
        var slots = 16
        while slots < 2 * capacity { slots *= 2 }
        positions = [Int32](repeating: -1, count: slots)
        hashes = [UInt64](repeating: 0, count: slots)
        ids = [String](repeating: "", count: slots)
    }

    /// The position given with `id`, if it is in the index.
    public subscript(id: String) -> Int? {
        let slot = self.slot(of: id, hash: Digest.xxh3(id, seed: IDIndex.seed))
        return positions[slot] >= 0 ? Int(positions[slot]) : nil
    }

    /// Adds `id` at `position`, unless the index has it already: then it returns the
    /// position the id has and changes nothing.
    public mutating func insert(_ id: String, at position: Int) -> Int? {
        if 2 * (count + 1) > positions.count { grow() }
        let hash = Digest.xxh3(id, seed: IDIndex.seed)
        let slot = self.slot(of: id, hash: hash)
        if positions[slot] >= 0 { return Int(positions[slot]) }
        positions[slot] = Int32(truncatingIfNeeded: position)
        hashes[slot] = hash
        ids[slot] = id
        count += 1
        return nil
    }

    /// Twice the slots, every id placed again.
    private mutating func grow() {
        var larger = IDIndex(capacity: positions.count)
        for slot in positions.indices where positions[slot] >= 0 {
            _ = larger.insert(ids[slot], at: Int(positions[slot]))
        }
        self = larger
    }

    /// The slot that holds `id` (whose digest is `hash`), or else the empty slot where it
    /// would go.
    private func slot(of id: String, hash: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: hash) & (positions.count - 1)
        while positions[slot] >= 0 && (hashes[slot] != hash || ids[slot] != id) {
            slot = (slot + 1) & (positions.count - 1)
        }
        return slot
    }
}
