/// A map from 64-bit keys (any but `UInt64.max`) to values, for lookups on every flow:
/// open addressing with linear probing and a multiplicative hash, each key beside its value.
/// `Dictionary` hashes an integer with seeded SipHash, which costs more than the rest of
/// such a lookup.
///
/// Keys are only added or replaced, never removed. (Inlinable, so that callers get it
/// specialized to their value type.)
public struct UInt64Map<Value> {
    @usableFromInline struct Slot {
        @usableFromInline var key: UInt64
        @usableFromInline var value: Value?

        @inlinable init(key: UInt64, value: Value?) {
            self.key = key
            self.value = value
        }
    }

    /// The marker of an empty slot.
    @usableFromInline static var empty: UInt64 { .max }
    @usableFromInline var slots: [Slot]
    /// How far a hash is shifted down to give a slot (64 minus log2 of the slot count).
    @usableFromInline var shift: UInt64
    @usableFromInline var occupied = 0

    /// How many keys it holds.
    public var count: Int { occupied }

    /// An empty map with room for `capacity` keys before it grows (none allocated for 0).
    @inlinable public init(capacity: Int = 0) {
        guard capacity > 0 else {
            slots = []
            shift = 64
            return
        }
        var count = 16
        while count < capacity * 2 { count *= 2 }
        slots = [Slot](repeating: Slot(key: UInt64Map.empty, value: nil), count: count)
        shift = UInt64(64 - count.trailingZeroBitCount)
    }

    /// The value of `key`, if any.
    @inlinable public subscript(key: UInt64) -> Value? {
        guard !slots.isEmpty else { return nil }
        var index = self.index(of: key)
        while true {
            let found = slots[index].key
            if found == key { return slots[index].value }
            if found == UInt64Map.empty { return nil }
            index = (index + 1) & (slots.count - 1)
        }
    }

    /// Makes `value` the value of `key`, replacing any it had.
    @inlinable public mutating func set(_ value: Value, for key: UInt64) {
        precondition(key != UInt64Map.empty, "UInt64Map keys exclude UInt64.max")
        if (occupied + 1) * 2 > slots.count { grow() }
        var index = self.index(of: key)
        while slots[index].key != key && slots[index].key != UInt64Map.empty {
            index = (index + 1) & (slots.count - 1)
        }
        if slots[index].key == UInt64Map.empty { occupied += 1 }
        slots[index] = Slot(key: key, value: value)
    }

    @inlinable func index(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Doubles the slots and puts every key back.
    @inlinable mutating func grow() {
        let old = slots
        self = UInt64Map(capacity: max(8, slots.count))
        for slot in old where slot.key != UInt64Map.empty {
            set(slot.value!, for: slot.key)
        }
    }
}

extension UInt64Map: Sendable where Value: Sendable {}
extension UInt64Map.Slot: Sendable where Value: Sendable {}
