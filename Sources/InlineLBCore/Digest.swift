import CXXHash

/// XXH3 digests of byte sequences, from the system libxxhash.
///
/// On x86-64 the runtime-dispatched variants are used (AVX2 where the CPU has it).
public enum Digest {
    /// The XXH3-64 digest of `bytes`.
    @inlinable public static func xxh3(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0)
        -> UInt64
    {
        #if arch(x86_64)
            return seed == 0
                ? XXH3_64bits_dispatch(bytes.baseAddress, bytes.count)
                : XXH3_64bits_withSeed_dispatch(bytes.baseAddress, bytes.count, seed)
        #else
            return XXH3_64bits_withSeed(bytes.baseAddress, bytes.count, seed)
        #endif
    }

    /// The XXH3-64 digest of a byte array.
    public static func xxh3(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0, seed: seed) }
    }

    /// The XXH3-64 digest of a string's UTF-8 bytes.
    public static func xxh3(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var text = text
        return text.withUTF8 { xxh3(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The XXH3-64 digest of `parts` laid end to end: what ``xxh3(_:seed:)-(UInt8)`` gives
    /// for their concatenation, without making it.
    public static func xxh3(parts: [ArraySlice<UInt8>]) -> UInt64 {
        if parts.count == 1 { return parts[0].withUnsafeBytes { xxh3($0) } }
        return xxh3 { update in
            for part in parts { part.withUnsafeBytes(update) }
        }
    }

    /// The XXH3-64 digest of the bytes that `feed` passes, in order, to the function it is
    /// given: of a concatenation never made.
    public static func xxh3(
        streaming feed: (_ update: (UnsafeRawBufferPointer) -> Void) -> Void
    ) -> UInt64 {
        guard let state = XXH3_createState() else { fatalError("out of memory for XXH3 state") }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        feed { raw in
            #if arch(x86_64)
                _ = XXH3_64bits_update_dispatch(state, raw.baseAddress, raw.count)
            #else
                _ = XXH3_64bits_update(state, raw.baseAddress, raw.count)
            #endif
        }
        return XXH3_64bits_digest(state)
    }

    /// The XXH3-128 digest of `parts` laid end to end, as (high, low) halves: what
    /// ``xxh3Wide(_:)`` gives for their concatenation.
    public static func xxh3Wide(parts: [ArraySlice<UInt8>]) -> (high: UInt64, low: UInt64) {
        var digester = WideDigester()
        for part in parts { part.withUnsafeBytes { digester.append($0) } }
        return digester.finish()
    }

    /// The XXH3-128 digest of `bytes` as (high, low) halves.
    public static func xxh3Wide(_ bytes: [UInt8]) -> (high: UInt64, low: UInt64) {
        bytes.withUnsafeBytes { raw in
            #if arch(x86_64)
                let digest = XXH3_128bits_dispatch(raw.baseAddress, raw.count)
            #else
                let digest = XXH3_128bits(raw.baseAddress, raw.count)
            #endif
            return (digest.high64, digest.low64)
        }
    }

    /// Sixteen lower-case hex digits.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { text in
            for index in 0..<16 {
                text[index] = hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)))
            }
            return 16
        }
    }

    /// The lower-case hex digit of the low four bits of `value`.
    @inlinable public static func hexDigit(_ value: UInt8) -> UInt8 {
        let nibble = value & 15
        return nibble < 10 ? 48 + nibble : 87 + nibble
    }

    /// Thirty-two lower-case hex digits of a 128-bit digest, high half first.
    public static func hex(_ value: (high: UInt64, low: UInt64)) -> String {
        hex(value.high) + hex(value.low)
    }
}
