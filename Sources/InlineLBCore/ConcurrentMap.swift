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
