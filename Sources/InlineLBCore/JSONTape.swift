#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension JSONDocument {
    /// Runs `body` with the document's tape borrowed (see ``JSONTape``).
    @inline(__always)
    public func withTape<Result>(_ body: (JSONTape) throws -> Result) rethrows -> Result {
        try tape.withUnsafeBufferPointer { tokens in
            try bytes.withUnsafeBufferPointer { try body(JSONTape(tokens: tokens, bytes: $0)) }
        }
    }
}

/// A document's tokens and bytes, borrowed inside ``JSONDocument/withTape(_:)``.
///
/// Values on a borrowed tape are plain values that hold no reference, so threads reading
/// parts of one document never contend on the document's reference count (with a
/// ``JSONNode`` each copy retains the document, and two cores doing so ran no faster than
/// one). They must not be used after the borrow ends.
public struct JSONTape: @unchecked Sendable {
    let tokens: UnsafeBufferPointer<JSONToken>
    let bytes: UnsafeBufferPointer<UInt8>

    /// The top-level value.
    public var root: JSONTapeNode { JSONTapeNode(tape: self, index: 0) }

    /// Whether the member name `token` reads `expected` (UTF-8), comparing bytes unless the
    /// name has escapes.
    @inline(__always)
    func name(_ token: JSONToken, equals expected: UnsafeBufferPointer<UInt8>) -> Bool {
        let length = Int(token.end) - Int(token.start) - 1
        if token.count & JSONToken.escaped != 0 {
            return JSONReader.string(of: token, in: bytes).utf8.elementsEqual(expected)
        }
        guard length == expected.count else { return false }
        guard length > 0 else { return true }
        return memcmp(expected.baseAddress!, bytes.baseAddress! + Int(token.start) + 1, length) == 0
    }
}

/// A value on a borrowed ``JSONTape``: what ``JSONNode`` reads, without the reference.
public struct JSONTapeNode: @unchecked Sendable {
    let tape: JSONTape
    /// The value's position on the tape.
    public let index: Int

    @inline(__always) var token: JSONToken { tape.tokens[index] }

    /// The value's kind.
    public var kind: JSONKind { token.kind }

    /// Byte offset of the value's first byte in the source.
    public var offset: Int { Int(token.start) }

    /// Whether the value is `null`.
    public var isNull: Bool { kind == .null }

    /// The boolean, if the value is one.
    public var bool: Bool? {
        switch kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    /// The string, if the value is one.
    public var string: String? {
        let token = token
        guard token.kind == .string else { return nil }
        return JSONReader.string(of: token, in: tape.bytes)
    }

    /// The number's source text, if the value is a number.
    public var numberText: String? {
        let token = token
        guard token.kind == .number else { return nil }
        return JSONReader.asciiString(
            UnsafeBufferPointer(rebasing: tape.bytes[Int(token.start)..<Int(token.end)]))
    }

    /// The integer, if the value is a number written as an integer that fits in `Int`.
    public var integer: Int? {
        let token = token
        guard token.kind == .number, token.count == 1 else { return nil }
        let bytes = tape.bytes
        var index = Int(token.start)
        let end = Int(token.end)
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var magnitude: UInt64 = 0
        while index < end {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(
                UInt64(bytes[index] &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            return magnitude <= UInt64(Int.max) + 1 ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
    }

    /// Number of elements or members of an array or object; 0 for other values.
    public var count: Int {
        let token = token
        return token.isContainer ? Int(token.count) : 0
    }

    /// The elements, if the value is an array (empty otherwise).
    public var elements: JSONTapeElements {
        JSONTapeElements(
            tape: tape, start: index + 1, count: kind == .array ? count : 0, members: false)
    }

    /// The elements as strings, if the value is an array of strings none of which is empty;
    /// nil otherwise. The elements of an array without nested containers are its next
    /// tokens, so they are read in place, without stepping through the array.
    public var nonEmptyStrings: [String]? {
        let token = token
        let count = Int(token.count)
        guard token.kind == .array, Int(token.end) == index + 1 + count else { return nil }
        let elements = UnsafeBufferPointer(rebasing: tape.tokens[(index + 1)...].prefix(count))
        guard elements.allSatisfy({ $0.kind == .string && $0.end > $0.start &+ 1 }) else {
            return nil
        }
        return elements.map { JSONReader.string(of: $0, in: tape.bytes) }
    }

    /// The members in source order, if the value is an object (empty otherwise).
    public var members: LazyMapSequence<JSONTapeElements, JSONTapeMember> {
        memberNames.lazy.map { JSONTapeMember(name: $0, node: $0.memberValue) }
    }

    /// The names of the members, if the value is an object (empty otherwise).
    private var memberNames: JSONTapeElements {
        JSONTapeElements(
            tape: tape, start: index + 1, count: kind == .object ? count : 0, members: true)
    }

    /// The value of the member this value names.
    private var memberValue: JSONTapeNode { JSONTapeNode(tape: tape, index: index + 1) }

    /// The first member named `key`, if the value is an object that has one.
    public func member(_ key: String) -> JSONTapeNode? {
        var key = key
        return key.withUTF8 { expected in
            memberNames.first { tape.name($0.token, equals: expected) }?.memberValue
        }
    }

    /// The elements, if the value is an array, cut into at most `pieces` consecutive parts in
    /// order (one part of all the elements, or none, otherwise).
    ///
    /// The parts are found on all cores by scanning slices of the array's tokens for those
    /// one level deeper than the array, instead of stepping from element to element on one:
    /// that walk misses the cache at every element of a long array.
    public func elementParts(into pieces: Int) -> [JSONTapeElementPart] {
        let all = elements
        guard pieces > 1, all.count >= pieces else {
            return all.count == 0 ? [] : [JSONTapeElementPart(offset: 0, elements: all)]
        }
        let elementDepth = token.depth &+ 1
        let tape = tape
        let found = (index + 1..<Int(token.end)).split(into: pieces).concurrentMap { slice in
            var first: Int?
            var count = 0
            for position in slice where tape.tokens[position].depth == elementDepth {
                if first == nil { first = position }
                count += 1
            }
            return (first: first, count: count)
        }
        var parts: [JSONTapeElementPart] = []
        var offset = 0
        for slice in found {
            guard let first = slice.first else { continue }
            parts.append(
                JSONTapeElementPart(
                    offset: offset,
                    elements: JSONTapeElements(
                        tape: tape, start: first, count: slice.count, members: false)))
            offset += slice.count
        }
        return parts
    }

    /// The element at `position`, if the value is an array that long.
    public func element(at position: Int) -> JSONTapeNode? {
        guard position >= 0, position < elements.count else { return nil }
        var index = self.index + 1
        for _ in 0..<position { index = tape.tokens[index].next(after: index) }
        return JSONTapeNode(tape: tape, index: index)
    }

    /// The members sorted out against `keys` in one walk: the value of the first member named
    /// after each key, and the members whose names are not keys or repeat an earlier name.
    /// Fast when members come in the order of the keys. Empty unless the value is an object.
    public func members(matching keys: JSONKeys) -> JSONMemberTable {
        var table = JSONMemberTable(tape: tape)
        var nextGuess = 0
        for name in memberNames {
            let match = keys.position(ofName: name.token, in: tape, tryingFirst: nextGuess)
            if let match, table.values[match] < 0 {
                table.values[match] = Int32(truncatingIfNeeded: name.index + 1)
                nextGuess = match + 1 == keys.count ? 0 : match + 1
            } else {
                let member = JSONTapeMember(name: name, node: name.memberValue)
                let key = member.key
                if match != nil || table.unknown.contains(where: { $0.key == key }) {
                    table.repeated.append(member)
                } else {
                    table.unknown.append(member)
                }
            }
        }
        return table
    }
}

/// One member of an object on a borrowed tape.
public struct JSONTapeMember: @unchecked Sendable {
    let name: JSONTapeNode
    /// The member's value.
    public let node: JSONTapeNode

    /// The member's name.
    public var key: String { name.string ?? "" }
}

/// Consecutive elements of an array on a borrowed tape (``JSONTapeNode/elementParts(into:)``).
public struct JSONTapeElementPart: @unchecked Sendable {
    /// The position of the first among all the array's elements.
    public let offset: Int
    /// The elements.
    public let elements: JSONTapeElements
}

/// The values of one container on a borrowed tape, in order: an array's elements, or an
/// object's member names (each directly followed by its value).
public struct JSONTapeElements: Sequence, @unchecked Sendable {
    let tape: JSONTape
    let start: Int
    /// Number of elements or members.
    public let count: Int
    /// Whether the container is an object, whose steps are name and value.
    let members: Bool

    public struct Iterator: IteratorProtocol {
        let tape: JSONTape
        var walk: TapeWalk<UnsafeBufferPointer<JSONToken>>

        public mutating func next() -> JSONTapeNode? {
            walk.next().map { JSONTapeNode(tape: tape, index: $0) }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(
            tape: tape,
            walk: TapeWalk(tokens: tape.tokens, index: start, remaining: count, members: members))
    }

    public var underestimatedCount: Int { count }
}

/// The member names a decoder expects of an object, kept so that a member's name is matched
/// by comparing two words. At most ``JSONKeys/maximumCount`` names.
public struct JSONKeys: Sendable {
    /// The most names a set of keys may have (a ``JSONMemberTable`` holds one slot per name,
    /// inline).
    public static let maximumCount = 16

    /// What the keys hold, in one object: a copy of the keys retains it once.
    @usableFromInline
    final class Storage: Sendable {
        let names: [String]
        /// The names' UTF-8 bytes, one after another.
        let utf8: [UInt8]
        /// Each name's bytes in ``utf8``.
        let ranges: [Range<Int>]
        /// Each name's first 16 bytes as two little-endian words, zero past its end.
        let prefixes: [SIMD2<UInt64>]
        /// The bits of each name's `String` value. Names of up to 15 bytes are stored in
        /// the value itself, so a name a decoder asks for by literal has the very same bits.
        @usableFromInline let bits: [SIMD2<UInt64>]
        /// Positions by ``JSONKeys/slot(of:)`` of their bits, -1 for none; a name whose slot
        /// another name took first is found by the search that follows a miss.
        @usableFromInline let slots: [Int8]

        init(_ names: [String]) {
            // Built afresh, not shared with the caller's array (see ``JSONKeys/unshared``).
            self.names = names.map { $0 }
            var utf8: [UInt8] = []
            var ranges: [Range<Int>] = []
            for name in names {
                ranges.append(utf8.count..<(utf8.count + name.utf8.count))
                utf8 += name.utf8
            }
            self.utf8 = utf8
            self.ranges = ranges
            // Read as member names are (``JSONKeys/words(at:)``), from 16 zero-padded bytes.
            prefixes = ranges.map { range in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { padded in
                    padded.initialize(repeating: 0)
                    _ = padded.initialize(fromContentsOf: utf8[range].prefix(16))
                    return JSONKeys.words(at: UnsafeRawBufferPointer(padded))
                }
            }
            bits = names.map(JSONKeys.bits(of:))
            var slots = [Int8](repeating: -1, count: JSONKeys.slotCount)
            for (position, bits) in bits.enumerated().reversed() {
                slots[JSONKeys.slot(of: bits)] = Int8(position)
            }
            self.slots = slots
        }
    }

    @usableFromInline let storage: Storage

    /// The names, best in the order members usually come.
    public var names: [String] { storage.names }

    public init(_ names: [String]) {
        precondition(names.count <= JSONKeys.maximumCount, "too many keys")
        storage = Storage(names)
    }

    /// The bits of a `String` value: equal bits are equal strings (the converse does not
    /// hold: long strings may live in different places).
    @inlinable @inline(__always)
    static func bits(of name: String) -> SIMD2<UInt64> {
        unsafeBitCast(name, to: SIMD2<UInt64>.self)
    }

    /// The number of slots in the table of positions by bits.
    @usableFromInline static let slotCount = 64

    /// The slot of a name's bits in the table of positions.
    @inlinable @inline(__always)
    static func slot(of bits: SIMD2<UInt64>) -> Int {
        Int(truncatingIfNeeded: ((bits.x ^ bits.y) &* 0x9E37_79B9_7F4A_7C15) >> 58)
    }

    /// The 16 bytes at `bytes` as two little-endian words.
    @inline(__always)
    static func words(at bytes: UnsafeRawBufferPointer) -> SIMD2<UInt64> {
        SIMD2(
            UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)),
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// By length up to 16, the mask that keeps that many first bytes of two little-endian
    /// words.
    private static let masks: [SIMD2<UInt64>] = (0...16).map { length in
        func low(_ count: Int) -> UInt64 {
            count <= 0 ? 0 : count >= 8 ? .max : (1 << (8 * UInt64(count))) - 1
        }
        return SIMD2(low(length), low(length - 8))
    }

    /// A copy with storage of its own. Copying a value retains its storage: threads that
    /// each use their own copy do not contend on one reference count.
    public var unshared: JSONKeys { JSONKeys(names) }

    /// The position of `name` among the names, if it is one: found by the bits of the
    /// value when they match (a literal, in one table look-up), else by its bytes.
    @inlinable
    public func position(of name: String) -> Int? {
        let wanted = JSONKeys.bits(of: name)
        let guess = Int(storage.slots[JSONKeys.slot(of: wanted)])
        if guess >= 0 && storage.bits[guess] == wanted { return guess }
        return searchedPosition(of: name)
    }

    /// ``position(of:)`` when the table has no match: by bits, then by bytes.
    @usableFromInline
    func searchedPosition(of name: String) -> Int? {
        let wanted = JSONKeys.bits(of: name)
        if let position = storage.bits.firstIndex(of: wanted) { return position }
        var name = name
        return name.withUTF8 { wanted in
            storage.ranges.indices.first { storage.utf8[storage.ranges[$0]].elementsEqual(wanted) }
        }
    }

    /// The position of the name of the object member whose name token is `token`, if it is
    /// one of the names; the position `guess` is tried first. A name without escapes that
    /// has 16 bytes of the document from its start compares as two words and a length, and
    /// any bytes past the 16th with `memcmp`.
    @inline(__always)
    func position(ofName token: JSONToken, in tape: JSONTape, tryingFirst guess: Int) -> Int? {
        let storage = storage
        let start = Int(token.start) + 1
        let length = Int(token.end) - start
        return storage.utf8.withUnsafeBufferPointer { utf8 in
            guard token.count & JSONToken.escaped == 0, start + 16 <= tape.bytes.count else {
                return storage.ranges.indices.first {
                    tape.name(
                        token, equals: UnsafeBufferPointer(rebasing: utf8[storage.ranges[$0]]))
                }
            }
            let name = tape.bytes.baseAddress! + start
            let words =
                JSONKeys.words(at: UnsafeRawBufferPointer(start: name, count: 16))
                & JSONKeys.masks[min(length, 16)]
            let count = storage.ranges.count
            var candidate = guess
            for _ in 0..<count {
                let range = storage.ranges[candidate]
                if range.count == length && storage.prefixes[candidate] == words
                    && (length <= 16
                        || memcmp(name + 16, utf8.baseAddress! + range.lowerBound + 16, length - 16)
                            == 0)
                {
                    return candidate
                }
                candidate = candidate + 1 == count ? 0 : candidate + 1
            }
            return nil
        }
    }

    /// How many names there are.
    var count: Int { storage.ranges.count }
}

/// An object's members sorted out against ``JSONKeys``
/// (``JSONTapeNode/members(matching:)``).
public struct JSONMemberTable: @unchecked Sendable {
    private let tape: JSONTape
    /// Per key, the tape index of the value of the first member so named; -1 for none.
    fileprivate var values = InlineArray<16, Int32>(repeating: -1)
    /// Members whose names are not keys, in source order (the first of each name).
    public fileprivate(set) var unknown: [JSONTapeMember] = []
    /// Members whose names an earlier member already had, in source order.
    public fileprivate(set) var repeated: [JSONTapeMember] = []

    fileprivate init(tape: JSONTape) { self.tape = tape }

    /// The value of the first member named after key `position`, if any.
    public func value(at position: Int) -> JSONTapeNode? {
        values[position] < 0 ? nil : JSONTapeNode(tape: tape, index: Int(values[position]))
    }
}
