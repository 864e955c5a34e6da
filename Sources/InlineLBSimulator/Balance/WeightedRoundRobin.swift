/// HAProxy 2.6's `balance roundrobin` (lb_fwrr.c), transcribed step by step from
/// REFERENCE.md §5a: effective weight = weight × 16, three ordered queues, positions
/// advanced by `next_weight / eweight` with a remainder carried in `rweight`.
///
/// - Complexity: O(n) per pick for n servers (queues are scanned, n is small).
struct WeightedRoundRobin: Sendable {
    private enum Queue { case current, initial, next }

    private struct Slot {
        var server: Int
        var eweight: Int
        /// `next_weight / eweight` and `next_weight % eweight`: the total weight never
        /// changes in a run, so both are worked out once.
        var step = 0
        var carry = 0
        var npos = 0
        var rweight = 0
        var queue = Queue.initial
        var key = 0
        var order = 0
    }

    private var slots: [Slot] = []
    private var currentPosition = 0
    private var currentWeight = 0
    private var nextWeight = 0
    private var insertions = 0

    /// Servers as (index, weight); weight-0 servers never receive traffic.
    init(servers: [(index: Int, weight: Int)]) {
        for server in servers where server.weight > 0 {
            let eweight = server.weight * 16
            var slot = Slot(server: server.index, eweight: eweight)
            slot.key = 4096 - eweight
            slot.order = insertions
            insertions += 1
            slots.append(slot)
            nextWeight += eweight
        }
        for index in slots.indices {
            slots[index].step = nextWeight / slots[index].eweight
            slots[index].carry = nextWeight % slots[index].eweight
        }
        currentPosition = nextWeight
        currentWeight = nextWeight
    }

    /// The first slot of the current queue and of the initial queue (by key, then by order
    /// of insertion), found in one scan.
    private func queueHeads() -> (current: Int?, initial: Int?) {
        var current: Int?
        var initial: Int?
        func precedes(_ index: Int, _ head: Int?) -> Bool {
            guard let head else { return true }
            return (slots[index].key, slots[index].order) < (slots[head].key, slots[head].order)
        }
        for index in slots.indices {
            switch slots[index].queue {
            case .current: if precedes(index, current) { current = index }
            case .initial: if precedes(index, initial) { initial = index }
            case .next: break
            }
        }
        return (current, initial)
    }

    /// The next server, or nil when there is none.
    mutating func pick() -> Int? {
        guard !slots.isEmpty else { return nil }
        var chosen: Int
        while true {
            let (current, initial) = queueHeads()
            if let current, slots[current].npos <= currentPosition {
                chosen = current
            } else if let initial {
                chosen = initial
                slots[initial].npos = 0
                slots[initial].rweight = 0
            } else if let current {
                chosen = current
            } else {
                for index in slots.indices where slots[index].queue == .next {
                    slots[index].queue = .initial
                }
                currentPosition = nextWeight
                currentWeight = nextWeight
                continue
            }
            break
        }
        // The chosen slot, changed on a copy and stored back once.
        var slot = slots[chosen]
        if slot.npos == 0 { slot.npos = currentPosition }
        slot.npos += slot.step
        slot.rweight += slot.carry
        if slot.rweight >= slot.eweight {
            slot.rweight -= slot.eweight
            slot.npos += 1
        }
        currentPosition += 1
        if slot.npos >= 2 * currentWeight || slot.npos >= currentWeight + nextWeight {
            slot.npos -= currentWeight
            slot.queue = .next
            slot.key = 4096 - slot.eweight
        } else {
            slot.queue = .current
            slot.key = 256 * slot.npos + (4096 + slot.rweight - slot.eweight) / 16
        }
        slot.order = insertions
        insertions += 1
        slots[chosen] = slot
        return slot.server
    }
}
