/// An IPv4 address held as its 32-bit big-endian value.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as an integer: `10.1.1.2` is `0x0A01_0102`.
    public var value: UInt32

    /// Creates an address from its 32-bit value.
    @inlinable public init(_ value: UInt32) { self.value = value }

    /// Parses dotted-quad text (`"10.1.1.2"`); no leading zeros, no spaces.
    @inlinable public init?(_ text: some StringProtocol) {
        // Native strings and their substrings are read in place; others are copied first.
        guard
            let parsed = text.utf8.withContiguousStorageIfAvailable(IPv4Address.parse)
                ?? Array(text.utf8).withUnsafeBufferPointer(IPv4Address.parse)
        else { return nil }
        self = parsed
    }

    /// Parses dotted-quad bytes.
    /// - Complexity: O(n) in the number of bytes.
    @inlinable
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> IPv4Address? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if digits > 0 && octet == 0 { return nil }  // leading zero
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return IPv4Address(value << 8 | octet)
    }

    /// The dotted-quad text.
    public var description: String {
        var writer = ByteWriter(capacity: 15)
        writer.append(self)
        return writer.string
    }

    /// The dotted-quad text with dots replaced by underscores, as HAProxy pool names use it.
    public var underscored: String {
        String(description.map { $0 == "." ? "_" : $0 })
    }

    @inlinable public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.value < rhs.value
    }
}
