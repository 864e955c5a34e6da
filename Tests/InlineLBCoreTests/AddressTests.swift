import Testing

@testable import InlineLBCore

@Suite("IPv4 addresses and networks")
struct AddressTests {
    @Test(
        "dotted quads parse and print back",
        arguments: ["0.0.0.0", "10.1.1.2", "203.0.113.255", "255.255.255.255"])
    func roundTrip(_ text: String) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.description == text)
    }

    @Test(
        "malformed addresses are refused",
        arguments: [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", "a.b.c.d",
            "1.2.3.-4",
        ])
    func refused(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func underscoredForm() throws {
        #expect(try #require(IPv4Address("10.1.1.20")).underscored == "10_1_1_20")
    }

    @Test func networksParseWithPrefixAndHostBitsRule() throws {
        let network = try #require(IPv4Network("10.1.0.0/16"))
        #expect(network.prefixLength == 16)
        #expect(network.broadcast.description == "10.1.255.255")
        #expect(network.netmask.description == "255.255.0.0")
        #expect(IPv4Network("10.1.1.1/16") == nil)
        #expect(IPv4Network("10.1.1.1/16", allowHostBits: true)?.network.description == "10.1.0.0")
        #expect(IPv4Network("10.1.1.1")?.prefixLength == 32)
        #expect(IPv4Network("0.0.0.0/0")?.contains(IPv4Address(0xFFFF_FFFF)) == true)
        #expect(IPv4Network("10.0.0.0/33") == nil)
        #expect(IPv4Network("10.0.0.0/") == nil)
    }

    @Test func networksFromGatewayAndNetmask() throws {
        let gateway = try #require(IPv4Address("10.1.1.1"))
        let mask = try #require(IPv4Address("255.255.255.0"))
        let network = try #require(IPv4Network(gateway: gateway, netmask: mask))
        #expect(network.description == "10.1.1.0/24")
        let broken = try #require(IPv4Address("255.0.255.0"))
        #expect(IPv4Network(gateway: gateway, netmask: broken) == nil)
    }

    @Test func cover() throws {
        let vpc = try #require(IPv4Network("10.1.0.0/16"))
        let tier = try #require(IPv4Network("10.1.1.0/24"))
        let other = try #require(IPv4Network("10.2.0.0/24"))
        #expect(vpc.covers(tier) && !tier.covers(vpc))
        #expect(!vpc.covers(other) && !tier.covers(other))
    }
}

@Suite("Byte writer")
struct ByteWriterTests {
    @Test(
        "integers format like String(describing:)",
        arguments: [0, 7, 10, 99, 100, 65535, -1, -4096, Int.max, Int.min + 1])
    func integers(_ value: Int) {
        var writer = ByteWriter()
        writer.append(value)
        #expect(writer.string == String(value))
    }

    @Test func unsignedExtremes() {
        var writer = ByteWriter()
        writer.append(unsigned: UInt64.max)
        #expect(writer.string == String(UInt64.max))
    }

    @Test func addressesMatchDescription() {
        var generator = SystemRandomNumberGenerator()
        let extremes: [UInt32] = [0, UInt32.max, 0x0A00_0964, 0x6400_0A09]
        for value in extremes
            + (0..<1000).map({ _ in UInt32.random(in: 0...UInt32.max, using: &generator) })
        {
            let address = IPv4Address(value)
            var writer = ByteWriter()
            writer.append(address)
            writer.append(byte: 32)
            writer.appendUnderscored(address)
            let dotted =
                "\(address.value >> 24).\(address.value >> 16 & 255).\(address.value >> 8 & 255).\(address.value & 255)"
            #expect(writer.string == dotted + " " + dotted.replacingOccurrences(of: ".", with: "_"))
        }
    }

    @Test func copiesOfWrittenBytesAppend() {
        var writer = ByteWriter(capacity: 4)
        writer.append("pool-80 ")
        writer.appendCopy(of: 0..<7)
        writer.appendCopy(of: 3..<3)
        writer.appendCopy(of: 0..<writer.count)
        #expect(writer.string == "pool-80 pool-80pool-80 pool-80")
    }

    @Test func jsonStringEscapes() {
        var writer = ByteWriter()
        writer.appendJSONString("a\"b\\c\nd\u{01}é")
        #expect(writer.string == #""a\"b\\c\nd\u0001é""#)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(
            separator: replacement)
    }
}
