import InlineLBCore
import Testing

@testable import InlineLBCompiler

@Suite("Indexed bitmap address pool")
struct AddressPoolTests {
    private func network(_ text: String) -> IPv4Network { IPv4Network(text)! }

    @Test func allocatesLowestFirstAndNeverTwice() throws {
        var pool = AddressPool(hostsOf: network("10.1.0.0/22"))
        #expect(pool.capacity == 1022)
        var seen = Set<IPv4Address>()
        var previous: UInt32 = 0
        for _ in 0..<pool.capacity {
            let address = try pool.allocate()
            #expect(seen.insert(address).inserted)
            #expect(address.value > previous)
            previous = address.value
        }
        #expect(pool.freeCount == 0)
        #expect(seen.min()?.description == "10.1.0.1")
        #expect(seen.max()?.description == "10.1.3.254")
    }

    @Test func exhaustionIsAClearError() throws {
        var pool = AddressPool(hostsOf: network("10.1.1.0/29"))
        for _ in 0..<6 { _ = try pool.allocate() }
        do {
            _ = try pool.allocate()
            Issue.record("allocated from an exhausted pool")
        } catch {
            #expect(error.description == "no free address left in 10.1.1.1-10.1.1.6")
        }
    }

    @Test func releaseThenAllocateReusesTheLowestAddress() throws {
        var pool = AddressPool(hostsOf: network("10.1.1.0/24"))
        let first = try pool.allocate()
        let second = try pool.allocate()
        _ = try pool.allocate()
        let releasedOnce = pool.release(second)
        let releasedTwice = pool.release(second)
        #expect(releasedOnce && !releasedTwice)
        let reused = try pool.allocate()
        #expect(reused == second)
        let releasedFirst = pool.release(first)
        let reusedFirst = try pool.allocate()
        #expect(releasedFirst && reusedFirst == first)
    }

    @Test func reservationsAreSkippedAndRangeChecked() throws {
        var pool = AddressPool(hostsOf: network("10.1.1.0/24"))
        let outcomes = [
            pool.reserve(IPv4Address("10.1.1.1")!), pool.reserve(IPv4Address("10.1.1.1")!),
            pool.reserve(IPv4Address("10.1.2.1")!), pool.reserve(IPv4Address("10.1.1.0")!),
            pool.reserve(IPv4Address("10.1.1.2")!),
        ]
        #expect(outcomes == [true, false, false, false, true])
        let next = try pool.allocate()
        #expect(next.description == "10.1.1.3")
    }

    @Test("agrees with a naive model under random operations", arguments: [14, 20, 24, 29])
    func randomOperations(prefix: Int) throws {
        let range = network("10.0.0.0/\(prefix)")
        var pool = AddressPool(hostsOf: range)
        let hosts = Int(range.size) - 2
        var taken = [Bool](repeating: false, count: hosts)
        var freeCount = hosts
        var generator = SplitMix64(state: UInt64(prefix))
        for _ in 0..<10_000 {
            if generator.next() % 3 < 2 {
                let lowest = taken.firstIndex(of: false)
                let address = try? pool.allocate()
                #expect(address?.value == lowest.map { range.network.value + 1 + UInt32($0) })
                if let lowest {
                    taken[lowest] = true
                    freeCount -= 1
                }
            } else {
                let slot = Int(generator.next() % UInt64(hosts))
                let released = pool.release(IPv4Address(range.network.value + 1 + UInt32(slot)))
                #expect(released == taken[slot])
                if taken[slot] {
                    taken[slot] = false
                    freeCount += 1
                }
            }
            #expect(pool.freeCount == freeCount)
        }
    }
}
