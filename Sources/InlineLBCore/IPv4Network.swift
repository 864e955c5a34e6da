/// An IPv4 network in CIDR form: a base address and a prefix length from 0 to 32.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits are zero).
    public let network: IPv4Address
    /// The prefix length, 0 to 32.
    public let prefixLength: Int

    /// Creates the network of `address` with `prefixLength` bits, clearing host bits.
    public init(containing address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.network = IPv4Address(address.value & IPv4Network.mask(prefixLength))
    }

    /// Parses `a.b.c.d/n`, or a bare address as a /32. Host bits must be zero
    /// unless `allowHostBits` is set.
    public init?(_ text: some StringProtocol, allowHostBits: Bool = false) {
        // Native strings and their substrings are read in place; others are copied first.
        let parse = { (bytes: UnsafeBufferPointer<UInt8>) in
            IPv4Network.parse(bytes, allowHostBits: allowHostBits)
        }
        guard
            let parsed = text.utf8.withContiguousStorageIfAvailable(parse)
                ?? Array(text.utf8).withUnsafeBufferPointer(parse)
        else { return nil }
        self = parsed
    }

    /// Parses the bytes of `a.b.c.d/n` or of a bare address (a /32).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, allowHostBits: Bool)
        -> IPv4Network?
    {
        let slash = bytes.firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
        guard let address = IPv4Address.parse(UnsafeBufferPointer(rebasing: bytes[..<slash]))
        else { return nil }
        var length = 32
        if slash < bytes.endIndex {
            let digits = bytes[(slash + 1)...]
            guard (1...2).contains(digits.count) else { return nil }
            length = 0
            for digit in digits {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
                length = length * 10 + Int(digit - UInt8(ascii: "0"))
            }
            guard length <= 32 else { return nil }
        }
        if !allowHostBits && address.value & ~IPv4Network.mask(length) != 0 { return nil }
        return IPv4Network(containing: address, prefixLength: length)
    }

    /// Creates the network from a gateway address and a dotted netmask; nil when the mask
    /// is not contiguous.
    public init?(gateway: IPv4Address, netmask: IPv4Address) {
        let ones = netmask.value.nonzeroBitCount
        guard IPv4Network.mask(ones) == netmask.value else { return nil }
        self.init(containing: gateway, prefixLength: ones)
    }

    /// The netmask for a prefix length.
    @inlinable public static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    /// The dotted netmask.
    public var netmask: IPv4Address { IPv4Address(IPv4Network.mask(prefixLength)) }

    /// Number of addresses, network and broadcast included.
    public var size: UInt64 { 1 << UInt64(32 - prefixLength) }

    /// The broadcast (last) address.
    public var broadcast: IPv4Address {
        IPv4Address(network.value | ~IPv4Network.mask(prefixLength))
    }

    /// Whether `address` lies in this network.
    @inlinable public func contains(_ address: IPv4Address) -> Bool {
        address.value & IPv4Network.mask(prefixLength) == network.value
    }

    /// Whether every address of `other` is in this network.
    public func covers(_ other: IPv4Network) -> Bool {
        other.prefixLength >= prefixLength && contains(other.network)
    }

    /// `a.b.c.d/n`.
    public var description: String { "\(network)/\(prefixLength)" }
}

extension Character {
    /// Whether this is one of the ASCII digits 0-9.
    public var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
