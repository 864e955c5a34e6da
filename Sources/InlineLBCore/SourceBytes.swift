/// The bytes a document was read from, kept alive with what was read from them: an array,
/// or a mapped file (a large corpus is parsed where the page cache holds it instead of
/// being copied into fresh memory first, which on these virtual machines took about half
/// as long as parsing it).
public enum SourceBytes: Sendable {
    case array([UInt8])
    case mapped(MappedFile)

    /// How many bytes.
    public var count: Int {
        switch self {
        case .array(let bytes): bytes.count
        case .mapped(let file): file.bytes.count
        }
    }

    /// The line and column of byte `offset`.
    public func location(of offset: Int) -> SourceLocation {
        withUnsafeBufferPointer { SourceLocation(offset: offset, in: $0) }
    }

    /// Calls `body` with the bytes, valid during the call.
    public func withUnsafeBufferPointer<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result {
        switch self {
        case .array(let bytes):
            return try bytes.withUnsafeBufferPointer(body)
        case .mapped(let file):
            return try withExtendedLifetime(file) {
                try body(
                    UnsafeBufferPointer(
                        start: file.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        count: file.bytes.count))
            }
        }
    }
}
