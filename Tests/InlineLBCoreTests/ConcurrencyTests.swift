import InlineLBCore
import Testing

@Suite("Work spread over cores")
struct ConcurrencyTests {
    @Test(arguments: [(0, 4), (1, 4), (5, 64), (64, 64), (1000, 7), (12_800_002, 64)])
    func splitCoversTheRangeInOrderInNearlyEqualParts(count: Int, pieces: Int) {
        let range = 10..<(10 + count)
        let parts = range.split(into: pieces)
        #expect(parts.count == max(1, min(pieces, count)))
        #expect(parts.first?.lowerBound == range.lowerBound)
        #expect(parts.last?.upperBound == range.upperBound)
        for (part, next) in zip(parts, parts.dropFirst()) {
            #expect(part.upperBound == next.lowerBound)
        }
        let lengths = parts.map(\.count)
        #expect((lengths.max() ?? 0) - (lengths.min() ?? 0) <= 1)
    }

    @Test func concurrentMapKeepsTheOrder() {
        let values = Array(0..<10_000)
        #expect(values.concurrentMap { $0 * 3 } == values.map { $0 * 3 })
    }
}
