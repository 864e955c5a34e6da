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

    @Test func partsDigestAsTheirConcatenation() {
        // No parts, one, empty ones, and parts around XXH3's 240-byte and 1 KiB thresholds.
        let sizes = [
            [], [0], [5], [0, 0, 3], [100, 140, 1], [1024, 1, 4096, 0, 17], [300_000, 9],
        ]
        for partSizes in sizes {
            // Slices that do not start at their array's start.
            let parts = partSizes.enumerated().map { number, size in
                (0..<size + 2).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ number) }[1..<size + 1]
            }
            let joined = Array(parts.joined())
            #expect(Digest.xxh3(parts: parts) == Digest.xxh3(joined), "\(partSizes)")
            #expect(Digest.xxh3Wide(parts: parts) == Digest.xxh3Wide(joined), "\(partSizes)")
        }
    }

    @Test func piecesDigestAsTheirConcatenation() {
        // Pieces of every kind and size, around and beyond the digester's buffer, against the
        // one-shot digest of the same bytes.
        var generator = SystemRandomNumberGenerator()
        for round in 0..<40 {
            var digester = WideDigester()
            var all: [UInt8] = []
            for _ in 0..<Int.random(in: 0...(round < 20 ? 40 : 300), using: &generator) {
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    let value = UInt64.random(in: 0...UInt64.max, using: &generator)
                    digester.append(littleEndian: value)
                    all += withUnsafeBytes(of: value.littleEndian, Array.init)
                case 1:
                    let byte = UInt8.random(in: 0...255, using: &generator)
                    digester.append(byte: byte)
                    all.append(byte)
                case 2:
                    let text = String(repeating: "é1", count: Int.random(in: 0...20))
                    digester.append(text)
                    all += Array(text.utf8)
                default:
                    let size = [0, 1, 4095, 4096, 4097, 10_000].randomElement(using: &generator)!
                    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
                    bytes.withUnsafeBytes { digester.append($0) }
                    all += bytes
                }
            }
            let digest = digester.finish()
            let expected = Digest.xxh3Wide(all)
            #expect(digest == expected, "round \(round), \(all.count) bytes")
        }
    }
}
