/// A parsed JSON value that remembers where it started in the source, so that errors can
/// name a line and column.
public struct JSONNode: Sendable {
    /// The value.
    public var value: JSONValue
    /// Byte offset of the value's first byte in the source.
    public var offset: Int

    /// Creates a node.
    public init(_ value: JSONValue, offset: Int) {
        self.value = value
        self.offset = offset
    }
}

/// A JSON value. Objects keep their members in source order.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A number with its source text; `integer` is set when the text is an integer that fits.
    case number(text: String, integer: Int?)
    case string(String)
    case array([JSONNode])
    case object([JSONMember])

    /// A short name of the value's kind, for messages ("a string", "an object", ...).
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable {
    /// The member's name.
    public var key: String
    /// Byte offset of the key's opening quote.
    public var keyOffset: Int
    /// The member's value.
    public var node: JSONNode

    /// Creates a member.
    public init(key: String, keyOffset: Int, node: JSONNode) {
        self.key = key
        self.keyOffset = keyOffset
        self.node = node
    }
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
