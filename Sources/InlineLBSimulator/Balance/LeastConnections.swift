/// HAProxy's `balance leastconn` (lb_fwlc.c): servers ordered by
/// `(in-flight + 1) × 4096 / eweight` (0 when idle); equal keys first-in first-out, a
/// server being requeued on every take and release, so one request at a time goes round
/// in declaration order and an idle server always beats a busy one.
struct LeastConnections: Sendable {
    private struct Slot {
        var server: Int
        var eweight: Int
        var inFlight = 0
        var order: Int
    }

    private var slots: [Slot] = []
    private var insertions = 0

    init(servers: [(index: Int, weight: Int)]) {
        for server in servers where server.weight > 0 {
            slots.append(Slot(server: server.index, eweight: server.weight * 16, order: insertions))
            insertions += 1
        }
    }

    private func key(_ slot: Slot) -> Int {
        slot.inFlight == 0 ? 0 : (slot.inFlight + 1) * 4096 / slot.eweight
    }

    /// Takes a connection on the least loaded server.
    mutating func pick() -> Int? {
        guard var best = slots.indices.first else { return nil }
        for index in slots.indices.dropFirst()
        where (key(slots[index]), slots[index].order) < (key(slots[best]), slots[best].order) {
            best = index
        }
        slots[best].inFlight += 1
        slots[best].order = insertions
        insertions += 1
        return slots[best].server
    }

    /// Ends a connection on `server`.
    mutating func release(_ server: Int) {
        guard let index = slots.firstIndex(where: { $0.server == server }),
            slots[index].inFlight > 0
        else { return }
        slots[index].inFlight -= 1
        slots[index].order = insertions
        insertions += 1
    }
}
