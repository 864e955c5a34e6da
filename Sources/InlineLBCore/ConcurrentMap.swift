import Dispatch

extension Array where Element: Sendable {
    /// `transform` applied to every element, spread over all cores; results in order. When
    /// some elements fail, every element is still transformed and the error of the first
    /// failing one (in order) is thrown.
    public func concurrentMap<Transformed: Sendable, Failure: Error>(
        _ transform: @Sendable (Element) throws(Failure) -> Transformed
    ) throws(Failure) -> [Transformed] {
        var outcomes = [Result<Transformed, Failure>?](repeating: nil, count: count)
        outcomes.withUnsafeMutableBufferPointer { buffer in
            // Each index is written by exactly one iteration.
            nonisolated(unsafe) let output = buffer
            DispatchQueue.concurrentPerform(iterations: count) { index in
                output[index] = Result { () throws(Failure) in try transform(self[index]) }
            }
        }
        return try outcomes.map { outcome throws(Failure) in try outcome!.get() }
    }

    /// The arrays `parts` end to end, each copied into its place on a core of its own
    /// (joining a million rules' columns one after another took 40 ms on one core).
    public init(joining parts: [[Element]]) {
        let starts = parts.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        self.init(unsafeUninitializedCapacity: starts.last!) { buffer, count in
            nonisolated(unsafe) let buffer = buffer
            _ = [Int](parts.indices).concurrentMap { index in
                _ = UnsafeMutableBufferPointer(
                    rebasing: buffer[starts[index]..<starts[index + 1]]
                ).initialize(fromContentsOf: parts[index])
            }
            count = starts.last!
        }
    }
}

extension Range where Bound == Int {
    /// The range cut into at most `pieces` consecutive parts of nearly equal length, in
    /// order (for spreading work over cores with ``Swift/Array/concurrentMap(_:)``).
    public func split(into pieces: Int) -> [Range<Int>] {
        let parts = Swift.max(1, Swift.min(pieces, count))
        return (0..<parts).map { part in
            (lowerBound + count * part / parts)..<(lowerBound + count * (part + 1) / parts)
        }
    }
}

extension Range where Bound == Int {
    /// The first index, going up (or down from the top with `fromEnd`), at which `holds`
    /// is false; nil when it holds throughout. Tested on all cores, a wave of
    /// `partLength`-index parts at a time, so that little is tested beyond the answer.
    public func firstFailure(
        fromEnd: Bool = false, partLength: Int = 4096, _ holds: @Sendable (Int) -> Bool
    ) -> Int? {
        let waveLength = 8 * partLength
        var tested = 0
        while tested < count {
            let width = Swift.min(waveLength, count - tested)
            // Offsets from the end the search starts at, in parts nearest that end first.
            let parts = (tested..<tested + width).split(into: (width + partLength - 1) / partLength)
            let lower = lowerBound
            let upper = upperBound
            let failures = parts.concurrentMap { part -> Int? in
                for offset in part {
                    let index = fromEnd ? upper - 1 - offset : lower + offset
                    if !holds(index) { return index }
                }
                return nil
            }
            if let failure = failures.lazy.compactMap({ $0 }).first { return failure }
            tested += width
        }
        return nil
    }
}

/// A value computed on another thread while the caller goes on with other work; reading
/// `value` waits for it.
public final class Pending<Value: Sendable>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchGroup()

    /// Starts computing `work` on another thread.
    public init(_ work: @escaping @Sendable () -> Value) {
        done.enter()
        DispatchQueue.global().async {
            self.result = work()
            self.done.leave()
        }
    }

    /// The value, once computed. The group's wait orders the write before this read.
    public var value: Value {
        done.wait()
        return result!
    }
}

/// Drops `value` on another thread, so that its teardown (unmapping a large file or
/// freeing a large array, say) overlaps the caller's next work instead of delaying it. The
/// caller hands over its reference; memory is reclaimed only if it held the last one.
public func releaseInBackground<Value>(_ value: consuming Value) {
    let handover = Handover(consume value)
    DispatchQueue.global().async { handover.value = nil }
}

/// A value passed to the thread that drops it.
private final class Handover<Value>: @unchecked Sendable {
    var value: Value?

    init(_ value: consuming Value) {
        self.value = value
    }
}
