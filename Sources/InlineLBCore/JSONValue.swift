#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kind of a JSON value.
public enum JSONKind: UInt8, Sendable {
    case null, `false`, `true`, number, string, array, object

    /// A short name of the kind, for messages ("a string", "an object", ...).
    public var description: String {
        switch self {
        case .null: "null"
        case .false, .true: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One entry of a document's tape: a value, or an object member's name (a string entry
/// directly followed by the member's value).
struct JSONToken: Sendable {
    /// Offset of the value's first byte (a string's opening quote).
    var start: UInt32
    /// Strings: offset of the closing quote. Numbers: one past the last digit. Arrays and
    /// objects: the tape index one past the container's last descendant.
    var end: UInt32
    /// Arrays and objects: number of elements or members. Strings: ``JSONToken/escaped`` and
    /// ``JSONToken/nonASCII`` flags. Numbers: 1 when the text is an integer.
    var count: UInt32
    var kind: JSONKind

    static let escaped: UInt32 = 1
    static let nonASCII: UInt32 = 2

    var isContainer: Bool { kind == .array || kind == .object }

    /// The tape index after this token, at `index`, and all its descendants.
    @inline(__always)
    func next(after index: Int) -> Int { isContainer ? Int(end) : index + 1 }
}

/// A parsed JSON document: its bytes and a flat tape of tokens in document order, so that
/// no value is materialised (no `String`, no array) until someone asks for it.
public final class JSONDocument: Sendable {
    /// The source bytes.
    public let bytes: [UInt8]
    let tape: [JSONToken]

    init(bytes: [UInt8], tape: [JSONToken]) {
        self.bytes = bytes
        self.tape = tape
    }

    /// The top-level value.
    public var root: JSONNode { JSONNode(document: self, index: 0) }

    /// The tape index after the value at `index` and all its descendants.
    @inline(__always)
    func next(after index: Int) -> Int { tape[index].next(after: index) }

    /// Runs `body` over the tape and the bytes.
    @inline(__always)
    func withBuffers<Result>(
        _ body: (UnsafeBufferPointer<JSONToken>, UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        tape.withUnsafeBufferPointer { tape in bytes.withUnsafeBufferPointer { body(tape, $0) } }
    }

    /// Whether the member name `token` reads `expected` (UTF-8), comparing bytes unless the
    /// name has escapes.
    @inline(__always)
    static func name(
        _ token: JSONToken, in bytes: UnsafeBufferPointer<UInt8>,
        equals expected: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        let length = Int(token.end) - Int(token.start) - 1
        if token.count & JSONToken.escaped != 0 {
            return JSONReader.string(of: token, in: bytes).utf8.elementsEqual(expected)
        }
        guard length == expected.count else { return false }
        guard length > 0 else { return true }
        return memcmp(expected.baseAddress!, bytes.baseAddress! + Int(token.start) + 1, length) == 0
    }
}

/// A value inside a ``JSONDocument``; cheap to copy, materialised on demand.
public struct JSONNode: Sendable {
    /// The document the value belongs to.
    public let document: JSONDocument
    let index: Int

    @inline(__always) var token: JSONToken { document.tape[index] }

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
        return document.bytes.withUnsafeBufferPointer { JSONReader.string(of: token, in: $0) }
    }

    /// The number's source text, if the value is a number.
    public var numberText: String? {
        let token = token
        guard token.kind == .number else { return nil }
        return document.bytes.withUnsafeBufferPointer { bytes in
            JSONReader.asciiString(
                UnsafeBufferPointer(rebasing: bytes[Int(token.start)..<Int(token.end)]))
        }
    }

    /// The integer, if the value is a number written as an integer that fits in `Int`.
    public var integer: Int? {
        let token = token
        guard token.kind == .number, token.count == 1 else { return nil }
        return document.bytes.withUnsafeBufferPointer { bytes in
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
                return magnitude <= UInt64(Int.max) + 1
                    ? Int(truncatingIfNeeded: 0 &- magnitude) : nil
            }
            return magnitude <= UInt64(Int.max) ? Int(magnitude) : nil
        }
    }

    /// Number of elements or members of an array or object; 0 for other values.
    public var count: Int {
        let token = token
        return token.isContainer ? Int(token.count) : 0
    }

    /// The elements, if the value is an array (empty otherwise).
    public var elements: JSONElements {
        JSONElements(document: document, start: index + 1, count: kind == .array ? count : 0)
    }

    /// The members in source order, if the value is an object (empty otherwise).
    public var members: JSONMembers {
        JSONMembers(document: document, start: index + 1, count: kind == .object ? count : 0)
    }

    /// The first member named `key`, if the value is an object that has one.
    public func member(_ key: String) -> JSONNode? {
        let token = token
        guard token.kind == .object else { return nil }
        var key = key
        let found: Int? = key.withUTF8 { expected in
            document.withBuffers { tape, bytes in
                var name = index + 1
                for _ in 0..<token.count {
                    if JSONDocument.name(tape[name], in: bytes, equals: expected) {
                        return name + 1
                    }
                    name = tape[name + 1].next(after: name + 1)
                }
                return nil
            }
        }
        return found.map { JSONNode(document: document, index: $0) }
    }

    /// The members sorted out against `keys` in one walk: the value of the first member named
    /// after each key, and the members whose names are not keys or repeat an earlier name.
    /// Fast when members come in the order of the keys. Empty unless the value is an object.
    public func members(matching keys: JSONKeys) -> JSONMemberTable {
        var values = [Int](repeating: -1, count: keys.names.count)
        var unknown: [JSONMember] = []
        var repeated: [JSONMember] = []
        guard kind == .object else {
            return JSONMemberTable(document: document, values: values, unknown: [], repeated: [])
        }
        document.withBuffers { tape, bytes in
            keys.withNames { names in
                var name = index + 1
                var nextGuess = 0
                for _ in 0..<count {
                    var match: Int?
                    for step in 0..<keys.names.count {
                        let candidate = (nextGuess + step) % keys.names.count
                        if JSONDocument.name(tape[name], in: bytes, equals: names(candidate)) {
                            match = candidate
                            break
                        }
                    }
                    if let match, values[match] < 0 {
                        values[match] = name + 1
                        nextGuess = match + 1
                    } else {
                        let member = JSONMember(
                            name: JSONNode(document: document, index: name),
                            node: JSONNode(document: document, index: name + 1))
                        let key = member.key
                        if match != nil || unknown.contains(where: { $0.key == key }) {
                            repeated.append(member)
                        } else {
                            unknown.append(member)
                        }
                    }
                    name = tape[name + 1].next(after: name + 1)
                }
            }
        }
        return JSONMemberTable(
            document: document, values: values, unknown: unknown, repeated: repeated)
    }

    /// The element at `position`, if the value is an array that long.
    public func element(at position: Int) -> JSONNode? {
        guard position >= 0, position < elements.count else { return nil }
        var index = self.index + 1
        for _ in 0..<position { index = document.next(after: index) }
        return JSONNode(document: document, index: index)
    }

    /// The value as a tree, materialising strings and containers one level down.
    public var value: JSONValue {
        switch kind {
        case .null: .null
        case .false: .bool(false)
        case .true: .bool(true)
        case .number: .number(text: numberText ?? "", integer: integer)
        case .string: .string(string ?? "")
        case .array: .array(Array(elements))
        case .object: .object(Array(members))
        }
    }
}

/// A JSON value one level deep, for code that prefers pattern matching to accessors.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A number with its source text; `integer` is set when the text is an integer that fits.
    case number(text: String, integer: Int?)
    case string(String)
    case array([JSONNode])
    case object([JSONMember])
}

/// One member of a JSON object.
public struct JSONMember: Sendable {
    let name: JSONNode
    /// The member's value.
    public let node: JSONNode

    /// The member's name.
    public var key: String { name.string ?? "" }

    /// Byte offset of the name's opening quote.
    public var keyOffset: Int { name.offset }
}

/// The member names a decoder expects of an object, kept as UTF-8 so that members are matched
/// by comparing bytes.
public struct JSONKeys: Sendable {
    /// The names, best in the order members usually come.
    public let names: [String]
    private let utf8: [UInt8]
    private let ranges: [Range<Int>]

    public init(_ names: [String]) {
        self.names = names
        var utf8: [UInt8] = []
        var ranges: [Range<Int>] = []
        for name in names {
            ranges.append(utf8.count..<(utf8.count + name.utf8.count))
            utf8 += name.utf8
        }
        self.utf8 = utf8
        self.ranges = ranges
    }

    /// The position of `name` among the names, if it is one (lengths are compared first).
    public func position(of name: String) -> Int? {
        let length = name.utf8.count
        return names.indices.first { ranges[$0].count == length && names[$0] == name }
    }

    /// Calls `body` with a function giving the UTF-8 bytes of the name at a position.
    func withNames<Result>(_ body: ((Int) -> UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        utf8.withUnsafeBufferPointer { bytes in
            body { UnsafeBufferPointer(rebasing: bytes[ranges[$0]]) }
        }
    }
}

/// An object's members sorted out against ``JSONKeys`` (``JSONNode/members(matching:)``).
public struct JSONMemberTable: Sendable {
    private let document: JSONDocument
    /// Per key, the tape index of the value of the first member so named; -1 for none.
    private let values: [Int]
    /// Members whose names are not keys, in source order (the first of each name).
    public let unknown: [JSONMember]
    /// Members whose names an earlier member already had, in source order.
    public let repeated: [JSONMember]

    init(document: JSONDocument, values: [Int], unknown: [JSONMember], repeated: [JSONMember]) {
        self.document = document
        self.values = values
        self.unknown = unknown
        self.repeated = repeated
    }

    /// The value of the first member named after key `position`, if any.
    public func value(at position: Int) -> JSONNode? {
        values[position] < 0 ? nil : JSONNode(document: document, index: values[position])
    }
}

/// A walk over the values of one container on the tape: each step gives the tape index of a
/// value (for objects, of a member's name) and moves past it and its descendants.
struct TapeWalk {
    let document: JSONDocument
    var index: Int
    var remaining: Int
    /// Whether each step is a member: a name token followed by its value.
    let members: Bool

    mutating func next() -> Int? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let position = index
        index = document.next(after: members ? index + 1 : index)
        return position
    }
}

/// The elements of an array, in order.
public struct JSONElements: Sequence, Sendable {
    let document: JSONDocument
    let start: Int
    /// Number of elements.
    public let count: Int

    public struct Iterator: IteratorProtocol {
        var walk: TapeWalk

        public mutating func next() -> JSONNode? {
            walk.next().map { JSONNode(document: walk.document, index: $0) }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(walk: TapeWalk(document: document, index: start, remaining: count, members: false))
    }

    public var underestimatedCount: Int { count }
}

/// The members of an object, in source order.
public struct JSONMembers: Sequence, Sendable {
    let document: JSONDocument
    let start: Int
    /// Number of members.
    public let count: Int

    public struct Iterator: IteratorProtocol {
        var walk: TapeWalk

        public mutating func next() -> JSONMember? {
            walk.next().map { name in
                JSONMember(
                    name: JSONNode(document: walk.document, index: name),
                    node: JSONNode(document: walk.document, index: name + 1))
            }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(walk: TapeWalk(document: document, index: start, remaining: count, members: true))
    }

    public var underestimatedCount: Int { count }
}

/// A line and column (both from 1) in a text.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    /// Computes the location of byte `offset` in `source`.
    /// - Complexity: O(offset).
    public init(offset: Int, in source: [UInt8]) {
        var line = 1
        var lineStart = 0
        var index = 0
        let end = min(offset, source.count)
        while index < end {
            if source[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        self.line = line
        self.column = end - lineStart + 1
    }

    public var description: String { "\(line):\(column)" }
}
