import Testing

@testable import InlineLBCore

@Suite("XXH3 digests through libxxhash")
struct DigestTests {
    @Test func knownValuesOfTheEmptyInput() {
        #expect(Digest.xxh3([]) == 0x2D06_8005_38D3_94C2)
        let wide = Digest.xxh3Wide([])
        #expect(wide.high == 0x99AA_06D3_0147_98D8)
        #expect(wide.low == 0x6001_C324_468D_497F)
        #expect(Digest.hex(wide) == "99aa06d3014798d86001c324468d497f")
    }

    @Test func seedsAndContentChangeTheDigest() {
        let bytes = Array("listen 10_1_1_3-80".utf8)
        #expect(Digest.xxh3(bytes) != Digest.xxh3(bytes, seed: 1))
        #expect(Digest.xxh3(bytes) != Digest.xxh3(bytes + [10]))
        #expect(Digest.xxh3(bytes) == Digest.xxh3(Array("listen 10_1_1_3-80".utf8)))
    }

    @Test func hexIsSixteenDigits() {
        #expect(Digest.hex(0xAB) == "00000000000000ab")
        #expect(Digest.hex(UInt64.max) == "ffffffffffffffff")
    }
}
