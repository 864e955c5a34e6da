/// HAProxy's consistent hashing ring (lb_chash.c, `hash-type consistent`): each server has
/// weight × 16 points keyed by `full_hash(id × 4096 + i)` (`id` counts servers from 1 in
/// declaration order); a lookup applies `full_hash` to the key and takes the closer of the
/// points around it (the previous one on equal distance).
struct ConsistentHash: Sendable {
    private var points: [(key: UInt32, server: Int)] = []

    /// Servers as (index, weight, puid).
    init(servers: [(index: Int, weight: Int, id: Int)]) {
        for server in servers where server.weight > 0 {
            for point in 0..<(server.weight * 16) {
                points.append(
                    (fullHash(UInt32(truncatingIfNeeded: server.id * 4096 + point)), server.index))
            }
        }
        points.sort { $0.key < $1.key }
    }

    func pick(hash: UInt32) -> Int? {
        guard !points.isEmpty else { return nil }
        let key = fullHash(hash)
        var low = 0
        var high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle].key < key { low = middle + 1 } else { high = middle }
        }
        let next = low == points.count ? 0 : low
        let previous = next == 0 ? points.count - 1 : next - 1
        let toPrevious = key &- points[previous].key
        let toNext = points[next].key &- key
        return toPrevious <= toNext ? points[previous].server : points[next].server
    }
}

/// Bob Jenkins' full-avalanche integer hash as HAProxy uses it, spread by a large prime.
func fullHash(_ value: UInt32) -> UInt32 {
    var a = value
    a = (a &+ 0x7ED5_5D16) &+ (a << 12)
    a = (a ^ 0xC761_C23C) ^ (a >> 19)
    a = (a &+ 0x1656_67B1) &+ (a << 5)
    a = (a &+ 0xD3A2_646C) ^ (a << 9)
    a = (a &+ 0xFD70_46C5) &+ (a << 3)
    a = (a ^ 0xB55A_4F09) ^ (a >> 16)
    return a &* 3_221_225_473
}
