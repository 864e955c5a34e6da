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

    /// Appends a copy of the bytes already written at `range`.
    @inlinable public mutating func appendCopy(of range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= storage.count, "out of range")
        // Through scratch space: a slice of the storage would share it, and the append would
        // copy the whole storage first.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: range.count) { scratch in
            storage.withUnsafeBufferPointer { written in
                _ = scratch.initialize(
                    fromContentsOf: UnsafeBufferPointer(rebasing: written[range]))
            }
            storage.append(contentsOf: UnsafeBufferPointer(scratch))
        }
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
        // Lowest digit last, so the digits end where the scratch space ends.
        appendFormatted(maximum: 20) { scratch in
            var first = 20
            var rest = value
            repeat {
                first -= 1
                scratch[first] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
                rest /= 10
            } while rest > 0
            return first..<20
        }
    }

    /// Appends the dotted-quad form of `address`.
    @inlinable public mutating func append(_ address: IPv4Address) {
        appendFormatted(maximum: 15) {
            0..<ByteWriter.format(address, separator: UInt8(ascii: "."), into: $0)
        }
    }

    /// Appends the address with dots replaced by underscores (HAProxy pool names).
    @inlinable public mutating func appendUnderscored(_ address: IPv4Address) {
        appendFormatted(maximum: 15) {
            0..<ByteWriter.format(address, separator: UInt8(ascii: "_"), into: $0)
        }
    }

    /// Appends what `format` writes in a scratch space of `maximum` bytes (it returns where
    /// it wrote): one append to the storage, not one per byte.
    @inlinable mutating func appendFormatted(
        maximum: Int, _ format: (UnsafeMutablePointer<UInt8>) -> Range<Int>
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximum) { scratch in
            let written = format(scratch.baseAddress!)
            storage.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[written]))
        }
    }

    /// Writes the decimal form of `octet` at `target`; returns how many bytes that took.
    @inlinable static func format(octet: UInt8, into target: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        if octet >= 100 {
            target[count] = octet / 100 &+ 48
            count += 1
        }
        if octet >= 10 {
            target[count] = octet / 10 % 10 &+ 48
            count += 1
        }
        target[count] = octet % 10 &+ 48
        return count + 1
    }

    /// Writes the four octets of `address` joined by `separator` at `target`; returns how
    /// many bytes that took (at most 15).
    @inlinable static func format(
        _ address: IPv4Address, separator: UInt8, into target: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var count = format(octet: UInt8(truncatingIfNeeded: address.value >> 24), into: target)
        for shift: UInt32 in stride(from: 16, through: 0, by: -8) {
            target[count] = separator
            count += 1
            count += format(
                octet: UInt8(truncatingIfNeeded: address.value >> shift), into: target + count)
        }
        return count
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
