/// HAProxy's static server map (lb_map.c), used by `static-rr` and by map-based hashing
/// (`balance source` without `hash-type consistent`): weights divided by their GCD, one
/// slot per unit of weight, each slot won by the server with the highest
/// `(score + total) / total` after adding its weight (first on ties), which pays `total`.
struct StaticMap: Sendable {
    /// Server indexes, one per slot.
    private(set) var slots: [Int] = []
    private var next = 0

    init(servers: [(index: Int, weight: Int)]) {
        let live = servers.filter { $0.weight > 0 }
        guard !live.isEmpty else { return }
        var divisor = 0
        for server in live { divisor = gcd(divisor, server.weight) }
        let weights = live.map { $0.weight / divisor }
        let total = weights.reduce(0, +)
        if live.count == 1 {
            slots = [live[0].index]
            return
        }
        var scores = [Int](repeating: 0, count: live.count)
        slots.reserveCapacity(total)
        for _ in 0..<total {
            var best = -1
            var maximum = 0
            for position in live.indices {
                scores[position] += weights[position]
                let value = (scores[position] + total) / total
                if best < 0 || value > maximum {
                    maximum = value
                    best = position
                }
            }
            slots.append(live[best].index)
            scores[best] -= total
        }
    }

    /// `static-rr`: the next slot in turn.
    mutating func pickNext() -> Int? {
        guard !slots.isEmpty else { return nil }
        defer { next = (next + 1) % slots.count }
        return slots[next]
    }

    /// Map-based hashing: the slot `hash % total`.
    func pick(hash: UInt32) -> Int? {
        guard !slots.isEmpty else { return nil }
        return slots.count == 1 ? slots[0] : slots[Int(hash % UInt32(slots.count))]
    }
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
