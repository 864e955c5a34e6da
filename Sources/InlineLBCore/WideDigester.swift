import CXXHash

/// The XXH3-128 digest of bytes given in many small pieces, as ``Digest/xxh3Wide(_:)`` would
/// give for all of them at once.
///
/// Pieces gather in a buffer of its own, which goes to libxxhash's streaming state when it
/// fills: an integer costs a store, not a growing array and a call.
public struct WideDigester: ~Copyable {
    @usableFromInline let state: OpaquePointer
    @usableFromInline let buffer: UnsafeMutableRawPointer
    @usableFromInline var used = 0

    /// Bytes gathered before they are digested.
    @usableFromInline static let bufferSize = 4096

    /// Starts an empty digest.
    public init() {
        guard let state = XXH3_createState() else { fatalError("out of memory for XXH3 state") }
        XXH3_128bits_reset(state)
        self.state = state
        buffer = .allocate(byteCount: WideDigester.bufferSize, alignment: 16)
    }

    deinit {
        XXH3_freeState(state)
        buffer.deallocate()
    }

    /// Adds the eight bytes of `value`, least significant first.
    @inlinable public mutating func append(littleEndian value: UInt64) {
        if WideDigester.bufferSize - used < 8 { digestBuffer() }
        buffer.storeBytes(of: value.littleEndian, toByteOffset: used, as: UInt64.self)
        used += 8
    }

    /// Adds one byte.
    @inlinable public mutating func append(byte: UInt8) {
        if used == WideDigester.bufferSize { digestBuffer() }
        buffer.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used += 1
    }

    /// Adds `bytes`.
    @inlinable public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if bytes.count > WideDigester.bufferSize - used {
            digestBuffer()
            if bytes.count > WideDigester.bufferSize {
                update(source, bytes.count)
                return
            }
        }
        (buffer + used).copyMemory(from: source, byteCount: bytes.count)
        used += bytes.count
    }

    /// Adds the UTF-8 of `text`.
    @inlinable public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of everything added, as (high, low) halves.
    public consuming func finish() -> (high: UInt64, low: UInt64) {
        digestBuffer()
        let digest = XXH3_128bits_digest(state)
        return (digest.high64, digest.low64)
    }

    @usableFromInline mutating func digestBuffer() {
        if used > 0 { update(buffer, used) }
        used = 0
    }

    @usableFromInline func update(_ bytes: UnsafeRawPointer, _ count: Int) {
        #if arch(x86_64)
            XXH3_128bits_update_dispatch(state, bytes, count)
        #else
            XXH3_128bits_update(state, bytes, count)
        #endif
    }
}
