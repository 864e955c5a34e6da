import InlineLBCore

/// The load-balancing state of one backend: its algorithm over the servers usable at
/// start (DOWN ones are out of the tree, as HAProxy does).
struct Balancer: Sendable {
    private enum Engine: Sendable {
        case roundRobin(WeightedRoundRobin)
        case staticRoundRobin(StaticMap)
        case sourceMap(StaticMap)
        case sourceConsistent(ConsistentHash)
        case leastConnections(LeastConnections)
        /// Set while a payload is taken out to be changed, so that the payload's storage stays
        /// uniquely referenced and changes in place instead of being copied on every pick.
        case takenOut
    }

    private var engine: Engine

    /// `usable[i]` says whether server i can take traffic.
    init(proxy: HAProxyProxy, usable: [Bool]) {
        // Backups take traffic only when no primary server can.
        var primaries: [(index: Int, weight: Int)] = []
        var backups: [(index: Int, weight: Int)] = []
        primaries.reserveCapacity(proxy.servers.count)
        for index in proxy.servers.indices where usable[index] {
            let server = (index: index, weight: proxy.servers[index].weight)
            if proxy.servers[index].backup {
                backups.append(server)
            } else {
                primaries.append(server)
            }
        }
        let weighted = primaries.isEmpty ? backups : primaries
        switch proxy.algorithm {
        case .roundrobin: engine = .roundRobin(WeightedRoundRobin(servers: weighted))
        case .staticRoundRobin: engine = .staticRoundRobin(StaticMap(servers: weighted))
        case .leastconn: engine = .leastConnections(LeastConnections(servers: weighted))
        case .source:
            if proxy.consistentHash {
                engine = .sourceConsistent(
                    ConsistentHash(
                        servers: weighted.map {
                            (index: $0.index, weight: $0.weight, id: $0.index + 1)
                        }))
            } else {
                engine = .sourceMap(StaticMap(servers: weighted))
            }
        }
    }

    /// The server for a new connection from `client`.
    mutating func pick(client: IPv4Address) -> Int? {
        switch engine {
        case .roundRobin(var state):
            engine = .takenOut
            defer { engine = .roundRobin(state) }
            return state.pick()
        case .staticRoundRobin(var state):
            engine = .takenOut
            defer { engine = .staticRoundRobin(state) }
            return state.pickNext()
        case .leastConnections(var state):
            engine = .takenOut
            defer { engine = .leastConnections(state) }
            return state.pick()
        case .sourceMap(let map): return map.pick(hash: client.value)
        case .sourceConsistent(let ring): return ring.pick(hash: client.value)
        case .takenOut: preconditionFailure("balancer state taken out and not put back")
        }
    }

    /// Whether it counts connections in flight (leastconn), so that ``release(_:)`` matters.
    var countsConnections: Bool {
        if case .leastConnections = engine { return true }
        return false
    }

    /// Ends a connection (only leastconn keeps count).
    mutating func release(_ server: Int) {
        if case .leastConnections(var state) = engine {
            engine = .takenOut
            state.release(server)
            engine = .leastConnections(state)
        }
    }
}
