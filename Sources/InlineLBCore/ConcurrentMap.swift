import Dispatch

extension Array where Element: Sendable {
    /// `transform` applied to every element, spread over all cores; results in order.
    public func concurrentMap<Result: Sendable>(_ transform: @Sendable (Element) -> Result)
        -> [Result]
    {
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each index is written by exactly one iteration.
            nonisolated(unsafe) let output = buffer
            DispatchQueue.concurrentPerform(iterations: count) { index in
                output[index] = transform(self[index])
            }
        }
        return results.map { $0! }
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
