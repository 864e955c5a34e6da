/// An append-only byte buffer for emitting text without per-line `String` allocation.
///
/// Integers and addresses are formatted by hand straight into the buffer.
public struct ByteWriter: Sendable {
    @usableFromInline var storage: [UInt8]

    /// The bytes written so far.
    public var bytes: [UInt8] { storage }

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 4096) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// Number of bytes written.
    @inlinable public var count: Int { storage.count }

    /// The bytes as UTF-8 text.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends one byte.
    @inlinable public mutating func append(byte: UInt8) { storage.append(byte) }

    /// Appends raw bytes.
    @inlinable public mutating func append(bytes other: some Sequence<UInt8>) {
        storage.append(contentsOf: other)
    }

    /// Appends the UTF-8 of `text`.
    @inlinable public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { storage.append(contentsOf: $0) }
    }

    /// Appends `text` followed by a newline.
    @inlinable public mutating func line(_ text: String) {
        append(text)
        storage.append(UInt8(ascii: "\n"))
    }

    /// Appends a newline.
    @inlinable public mutating func newline() { storage.append(UInt8(ascii: "\n")) }

    /// Appends the decimal form of `value`.
    @inlinable public mutating func append(_ value: Int) {
        if value < 0 {
            storage.append(UInt8(ascii: "-"))
            append(unsigned: UInt64(-Int64(value)))
        } else {
            append(unsigned: UInt64(value))
        }
    }

    /// Appends the decimal form of an unsigned value.
    @inlinable public mutating func append(unsigned value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor &*= 10 }
        while divisor > 0 {
            storage.append(UInt8(truncatingIfNeeded: value / divisor % 10) &+ 48)
            divisor /= 10
        }
    }

    /// Appends the dotted-quad form of `address`.
    @inlinable public mutating func append(_ address: IPv4Address) {
        let value = address.value
        append(octet: UInt8(truncatingIfNeeded: value >> 24))
        storage.append(UInt8(ascii: "."))
        append(octet: UInt8(truncatingIfNeeded: value >> 16))
        storage.append(UInt8(ascii: "."))
        append(octet: UInt8(truncatingIfNeeded: value >> 8))
        storage.append(UInt8(ascii: "."))
        append(octet: UInt8(truncatingIfNeeded: value))
    }

    /// Appends the address with dots replaced by underscores (HAProxy pool names).
    @inlinable public mutating func appendUnderscored(_ address: IPv4Address) {
        let value = address.value
        append(octet: UInt8(truncatingIfNeeded: value >> 24))
        storage.append(UInt8(ascii: "_"))
        append(octet: UInt8(truncatingIfNeeded: value >> 16))
        storage.append(UInt8(ascii: "_"))
        append(octet: UInt8(truncatingIfNeeded: value >> 8))
        storage.append(UInt8(ascii: "_"))
        append(octet: UInt8(truncatingIfNeeded: value))
    }

    @inlinable mutating func append(octet: UInt8) {
        if octet >= 100 {
            storage.append(octet / 100 &+ 48)
            storage.append(octet / 10 % 10 &+ 48)
        } else if octet >= 10 {
            storage.append(octet / 10 &+ 48)
        }
        storage.append(octet % 10 &+ 48)
    }

    /// Appends `text` as a JSON string literal, quotes included.
    public mutating func appendJSONString(_ text: String) {
        storage.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        var text = text
        let plain = text.withUTF8 { bytes in
            guard
                !bytes.contains(where: {
                    $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\")
                })
            else { return false }
            storage.append(contentsOf: bytes)
            return true
        }
        if plain {
            storage.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): storage.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): storage.append(contentsOf: [92, 92])
            case UInt8(ascii: "\n"): storage.append(contentsOf: [92, 110])
            case UInt8(ascii: "\r"): storage.append(contentsOf: [92, 114])
            case UInt8(ascii: "\t"): storage.append(contentsOf: [92, 116])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                storage.append(contentsOf: [
                    92, 117, 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)],
                ])
            default: storage.append(byte)
            }
        }
        storage.append(UInt8(ascii: "\""))
    }
}
