import Testing

@testable import InlineLBCore

@Suite("Integer-keyed map")
struct UInt64MapTests {
    /// Keys of the shapes flows use (address << 16 | port), clustered so that many share
    /// their low or high bits, set and replaced in random order.
    @Test func answersAsADictionaryDoes() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        var map = UInt64Map<Int>()
        var reference: [UInt64: Int] = [:]
        for step in 0..<60_000 {
            let address = 0xCB00_7100 | next() % 512
            let port = [80, 443, 8080, 1000 + next() % 40][Int(next() % 4)]
            let key = address << 16 | port
            map.set(step, for: key)
            reference[key] = step
        }
        #expect(map.count == reference.count)
        #expect(reference.allSatisfy { map[$0.key] == $0.value })
        // Absent keys, near the present ones.
        let absent = (0..<10_000).map { _ in (0xCB00_7200 | next() % 512) << 16 | 443 }
        #expect(absent.allSatisfy { map[$0] == nil })
        #expect(map[0] == nil)
    }

    @Test func holdsZeroAndLargeKeys() {
        #expect(UInt64Map<String>()[0] == nil)
        var map = UInt64Map<String>()
        map.set("zero", for: 0)
        map.set("large", for: .max - 1)
        map.set("zero again", for: 0)
        #expect(map.count == 2)
        #expect(map[0] == "zero again")
        #expect(map[.max - 1] == "large")
        #expect(map[1] == nil)
    }
}
