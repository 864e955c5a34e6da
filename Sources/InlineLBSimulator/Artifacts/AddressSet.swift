import InlineLBCore

/// A set of IPv4 addresses (as their 32-bit values) that answers most "not in the set"
/// questions with one bit test: a bitmap of about eight bits per member, by a multiplicative
/// hash, in front of the exact set (an open-addressing table, as `Set` would hash each
/// address with SipHash).
struct AddressSet: Sendable {
    private let members: UInt64Map<Void>
    private let bits: [UInt64]
    /// How far the hash is shifted down to give a bit position.
    private let shift: UInt32

    init(_ members: Set<UInt32>) {
        var table = UInt64Map<Void>(capacity: members.count)
        for member in members { table.set((), for: UInt64(member)) }
        self.members = table
        var bitCount = 64
        while bitCount < members.count * 8 { bitCount *= 2 }
        shift = UInt32(32 - bitCount.trailingZeroBitCount)
        var bits = [UInt64](repeating: 0, count: bitCount / 64)
        for member in members {
            let position = AddressSet.position(member, shift: shift)
            bits[position >> 6] |= 1 << (position & 63)
        }
        self.bits = bits
    }

    func contains(_ address: UInt32) -> Bool {
        let position = AddressSet.position(address, shift: shift)
        guard bits[position >> 6] & (1 << (position & 63)) != 0 else { return false }
        return members[UInt64(address)] != nil
    }

    private static func position(_ address: UInt32, shift: UInt32) -> Int {
        Int(truncatingIfNeeded: (address &* 0x9E37_79B1) >> shift)
    }
}
