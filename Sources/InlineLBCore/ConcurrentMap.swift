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
