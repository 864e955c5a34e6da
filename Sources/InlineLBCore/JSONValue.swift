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
    /// How many containers enclose the value (0 for the top-level value); a member's name has
    /// its value's depth. Lets the elements of a long array be found on all cores
    /// (``JSONTapeNode/elementParts(into:)``).
    var depth: UInt16

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
    public let bytes: SourceBytes
    let tape: [JSONToken]

    init(bytes: SourceBytes, tape: [JSONToken]) {
        self.bytes = bytes
        self.tape = tape
    }

    /// The top-level value.
    public var root: JSONNode { JSONNode(document: self, index: 0) }
}

/// A value inside a ``JSONDocument``; cheap to copy, materialised on demand.
public struct JSONNode: Sendable {
    /// The document the value belongs to.
    public let document: JSONDocument
    let index: Int

    /// The value's kind.
    public var kind: JSONKind { onTape(\.kind) }

    /// Byte offset of the value's first byte in the source.
    public var offset: Int { onTape(\.offset) }

    /// Whether the value is `null`.
    public var isNull: Bool { onTape(\.isNull) }

    /// The boolean, if the value is one.
    public var bool: Bool? { onTape(\.bool) }

    /// The string, if the value is one.
    public var string: String? { onTape(\.string) }

    /// The number's source text, if the value is a number.
    public var numberText: String? { onTape(\.numberText) }

    /// The integer, if the value is a number written as an integer that fits in `Int`.
    public var integer: Int? { onTape(\.integer) }

    /// Number of elements or members of an array or object; 0 for other values.
    public var count: Int { onTape(\.count) }

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
        onTape { $0.member(key)?.index }.map { JSONNode(document: document, index: $0) }
    }

    /// The element at `position`, if the value is an array that long.
    public func element(at position: Int) -> JSONNode? {
        onTape { $0.element(at: position)?.index }.map { JSONNode(document: document, index: $0) }
    }

    /// `body` applied to this value on the borrowed tape.
    @inline(__always)
    private func onTape<Result>(_ body: (JSONTapeNode) -> Result) -> Result {
        document.withTape { body(JSONTapeNode(tape: $0, index: index)) }
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

/// A walk over the values of one container on the tape: each step gives the tape index of a
/// value (for objects, of a member's name) and moves past it and its descendants.
struct TapeWalk<Tokens: RandomAccessCollection<JSONToken>> where Tokens.Index == Int {
    let tokens: Tokens
    var index: Int
    var remaining: Int
    /// Whether each step is a member: a name token followed by its value.
    let members: Bool

    mutating func next() -> Int? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let position = index
        let value = members ? index + 1 : index
        index = tokens[value].next(after: value)
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
        let document: JSONDocument
        var walk: TapeWalk<[JSONToken]>

        public mutating func next() -> JSONNode? {
            walk.next().map { JSONNode(document: document, index: $0) }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(
            document: document,
            walk: TapeWalk(tokens: document.tape, index: start, remaining: count, members: false))
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
        let document: JSONDocument
        var walk: TapeWalk<[JSONToken]>

        public mutating func next() -> JSONMember? {
            walk.next().map { name in
                JSONMember(
                    name: JSONNode(document: document, index: name),
                    node: JSONNode(document: document, index: name + 1))
            }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(
            document: document,
            walk: TapeWalk(tokens: document.tape, index: start, remaining: count, members: true))
    }

    public var underestimatedCount: Int { count }
}

/// A line and column (both from 1) in a text.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    /// Computes the location of byte `offset` in `source`.
    /// - Complexity: O(offset).
    public init<Bytes: RandomAccessCollection<UInt8>>(offset: Int, in source: Bytes)
    where Bytes.Index == Int {
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
