import InlineLBCore
import Testing

@testable import InlineLBSimulator

/// The server orders of REFERENCE.md §5, verified there against the real haproxy 2.6.12.
@Suite("HAProxy 2.6 balancer models")
struct BalancerTests {
    private func servers(_ weights: [Int]) -> [(index: Int, weight: Int)] {
        weights.enumerated().map { (index: $0.offset, weight: $0.element) }
    }

    private func roundRobin(_ weights: [Int], picks: Int) -> [Int] {
        var model = WeightedRoundRobin(servers: servers(weights))
        return (0..<picks).map { _ in model.pick()! + 1 }
    }

    @Test(
        "roundrobin picks in HAProxy's order",
        arguments: [
            ([1, 1, 1], [1, 2, 3, 1, 2, 3]),
            ([1, 2, 3], [3, 2, 3, 1, 3, 2, 3, 2, 3, 1, 3, 2]),
            ([2, 1], [1, 1, 2, 1, 1, 2]),
            ([3, 2, 1], [1, 2, 1, 3, 1, 2]),
            ([1, 3], [2, 2, 2, 1]),
        ])
    func roundRobinOrders(_ weights: [Int], _ expected: [Int]) {
        #expect(roundRobin(weights, picks: expected.count) == expected)
    }

    @Test func roundRobinShareMatchesWeightsOverLongRuns() {
        let picks = roundRobin([1, 2, 3, 4], picks: 1000)
        let counts = (1...4).map { server in picks.filter { $0 == server }.count }
        #expect(counts == [100, 200, 300, 400])
    }

    @Test func staticMapFollowsLbMap() {
        var map = StaticMap(servers: servers([1, 2, 3]))
        #expect(map.slots.map { $0 + 1 } == [1, 3, 2, 3, 2, 3])
        #expect((0..<7).map { _ in map.pickNext()! + 1 } == [1, 3, 2, 3, 2, 3, 1])
        #expect(StaticMap(servers: servers([2, 4, 6])).slots == map.slots)
    }

    @Test func sourceHashingIsTheAddressModuloTheMap() {
        let equal = StaticMap(servers: servers([1, 1, 1]))
        for value: UInt32 in [0, 1, 2, 0xC633_6407, 0xC633_64FE] {
            #expect(equal.pick(hash: value)! == Int(value % 3))
        }
        let weighted = StaticMap(servers: servers([1, 2, 3]))
        #expect(weighted.pick(hash: 0xC633_6405) == weighted.slots[Int(0xC633_6405 % UInt32(6))])
        #expect(StaticMap(servers: [(index: 4, weight: 1)]).pick(hash: 12345) == 4)
    }

    @Test func leastConnectionsGoesRoundOneAtATimeAndPrefersIdleServers() {
        var model = LeastConnections(servers: servers([1, 1, 1]))
        var order: [Int] = []
        for _ in 0..<6 {
            let server = model.pick()!
            order.append(server + 1)
            model.release(server)
        }
        #expect(order == [1, 2, 3, 1, 2, 3])
        var held = LeastConnections(servers: servers([1, 1, 1]))
        let first = held.pick()!
        let second = held.pick()!
        let third = held.pick()!
        #expect([first, second, third] == [0, 1, 2])
        held.release(second)
        #expect(held.pick() == 1)
    }

    @Test func consistentHashingIsStableAndSpreads() {
        let ring = ConsistentHash(servers: [(0, 1, 1), (1, 1, 2), (2, 1, 3)])
        var counts = [0, 0, 0]
        for client in 0..<3000 {
            let address = UInt32(0xC633_6400) &+ UInt32(client)
            let first = ring.pick(hash: address)!
            #expect(ring.pick(hash: address) == first)
            counts[first] += 1
        }
        #expect(counts.allSatisfy { $0 > 500 })
        let smaller = ConsistentHash(servers: [(0, 1, 1), (1, 1, 2)])
        for client in 0..<300 {
            let address = UInt32(0xC633_6400) &+ UInt32(client)
            if ring.pick(hash: address) != 2 {
                #expect(smaller.pick(hash: address) == ring.pick(hash: address))
            }
        }
    }

    @Test func fullHashIsJenkinsFullAvalanche() {
        #expect(fullHash(0) != fullHash(1))
        #expect(fullHash(4096) == fullHash(4096))
    }
}
