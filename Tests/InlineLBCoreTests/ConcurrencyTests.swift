import Dispatch
import Foundation
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

    /// Arrays joined on all cores are their concatenation, empty ones included, and hold
    /// their elements' references (strings here) as a serial join does.
    @Test func arraysJoinedOnAllCoresAreTheirConcatenation() {
        let parts: [[String]] = [[], ["a"], [], (0..<1000).map { "s\($0)" }, ["b", "c"], []]
        #expect(Array(joining: parts) == parts.flatMap { $0 })
        #expect([Int](joining: []).isEmpty)
        #expect([Int](joining: [[], []]).isEmpty)
    }

    @Test func firstFailureFindsTheFailureNearestTheEndItStartsFrom() {
        // Failures at part and wave boundaries (parts of 4, waves of 32) and in between.
        let range = 3..<203
        for failing in [[], [3], [202], [6, 7, 150], [34, 35], [66, 99], [130, 131, 202]] {
            let set = Set(failing)
            for partLength in [1, 4, 4096] {
                #expect(
                    range.firstFailure(partLength: partLength) { !set.contains($0) }
                        == failing.min())
                #expect(
                    range.firstFailure(fromEnd: true, partLength: partLength) {
                        !set.contains($0)
                    } == failing.max())
            }
        }
        #expect((5..<5).firstFailure { _ in false } == nil)
    }

    @Test func pendingGivesTheValueComputedOnAnotherThread() {
        let values = Array(0..<100_000)
        let sum = Pending { values.reduce(0, +) }
        #expect(sum.value == 4_999_950_000)
        #expect(sum.value == 4_999_950_000)
    }

    @Test func releaseInBackgroundTearsTheObjectDownOnAnotherThread() {
        let released = DispatchSemaphore(value: 0)
        let caller = pthread_self()
        nonisolated(unsafe) var releasedOnCaller = true
        releaseInBackground(
            Watched {
                releasedOnCaller = pthread_equal(pthread_self(), caller) != 0
                released.signal()
            })
        #expect(released.wait(timeout: .now() + 10) == .success)
        #expect(!releasedOnCaller)
    }
}

/// Calls `onDeinit` when it goes.
private final class Watched: Sendable {
    let onDeinit: @Sendable () -> Void

    init(_ onDeinit: @escaping @Sendable () -> Void) {
        self.onDeinit = onDeinit
    }

    deinit { onDeinit() }
}
