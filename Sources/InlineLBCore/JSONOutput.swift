/// A JSON value to write: members keep the order they are given in, so output is
/// deterministic.
public indirect enum JSONOutput: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSONOutput])
    case object([(String, JSONOutput)])

    /// A string, or null when `text` is nil.
    public static func optional(_ text: String?) -> JSONOutput {
        text.map(JSONOutput.string) ?? .null
    }

    /// Appends the value to `out`: one line when `pretty` is false, else two-space indented.
    public func write(to out: inout ByteWriter, pretty: Bool, indent: Int = 0) {
        switch self {
        case .null: out.append("null")
        case .bool(let flag): out.append(flag ? "true" : "false")
        case .int(let value): out.append(value)
        case .string(let text): out.appendJSONString(text)
        case .array(let elements):
            writeContainer(
                elements.map { (nil, $0) }, open: UInt8(ascii: "["), close: UInt8(ascii: "]"),
                to: &out, pretty: pretty, indent: indent)
        case .object(let members):
            writeContainer(
                members.map { ($0.0, $0.1) }, open: UInt8(ascii: "{"), close: UInt8(ascii: "}"),
                to: &out, pretty: pretty, indent: indent)
        }
    }

    private func writeContainer(
        _ items: [(String?, JSONOutput)], open: UInt8, close: UInt8, to out: inout ByteWriter,
        pretty: Bool, indent: Int
    ) {
        out.append(byte: open)
        guard !items.isEmpty else {
            out.append(byte: close)
            return
        }
        let inline =
            !pretty
            || items.allSatisfy { $0.1.isScalar } && items.count <= 4 && items.first?.0 == nil
        for (position, (key, value)) in items.enumerated() {
            if position > 0 { out.append(inline && pretty ? ", " : ",") }
            if !inline {
                out.newline()
                out.append(bytes: repeatElement(UInt8(ascii: " "), count: indent + 2))
            }
            if let key {
                out.appendJSONString(key)
                out.append(pretty ? ": " : ":")
            }
            value.write(to: &out, pretty: pretty, indent: indent + 2)
        }
        if !inline {
            out.newline()
            out.append(bytes: repeatElement(UInt8(ascii: " "), count: indent))
        }
        out.append(byte: close)
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    /// The opening of a pretty document object up to the value of its member `key`, after
    /// its scalar `members`, as ``write(to:pretty:indent:)`` writes them: the head that
    /// ``parts(_:arrayOfRendered:indent:_:)`` takes.
    public static func documentHead(_ members: [(String, JSONOutput)], then key: String)
        -> [UInt8]
    {
        var out = ByteWriter()
        out.append(byte: UInt8(ascii: "{"))
        for (name, value) in members {
            out.append("\n  ")
            out.appendJSONString(name)
            out.append(": ")
            value.write(to: &out, pretty: true, indent: 2)
            out.append(byte: UInt8(ascii: ","))
        }
        out.append("\n  ")
        out.appendJSONString(key)
        out.append(": ")
        return out.bytes
    }

    /// A document of `head`, then an array of values rendered beforehand (each as
    /// ``write(to:pretty:indent:)`` writes it pretty at `indent + 2`) laid out as a pretty
    /// array at `indent` is written, then `tail`; as parts that follow one another (the
    /// values themselves among them, not copied) and where each value lies in the
    /// document: documents built from such chunks can later be patched chunk by chunk.
    public static func parts(
        _ head: [UInt8], arrayOfRendered elements: [ArraySlice<UInt8>], indent: Int,
        _ tail: [UInt8]
    ) -> (parts: [ArraySlice<UInt8>], ranges: [Range<Int>]) {
        guard !elements.isEmpty else { return ([(head + Array("[]".utf8) + tail)[...]], []) }
        let separator = [UInt8(ascii: "\n")] + repeatElement(UInt8(ascii: " "), count: indent + 2)
        let comma = ([UInt8(ascii: ",")] + separator)[...]
        var parts = [(head + [UInt8(ascii: "[")] + separator)[...]]
        parts.reserveCapacity(2 * elements.count + 1)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(elements.count)
        var offset = parts[0].count
        for (position, element) in elements.enumerated() {
            if position > 0 {
                parts.append(comma)
                offset += comma.count
            }
            parts.append(element)
            ranges.append(offset..<offset + element.count)
            offset += element.count
        }
        let close =
            [UInt8(ascii: "\n")] + repeatElement(UInt8(ascii: " "), count: indent)
            + [UInt8(ascii: "]")]
        parts.append((close + tail)[...])
        return (parts, ranges)
    }

    /// The value as a complete document: pretty, with a final newline.
    public var document: [UInt8] {
        var out = ByteWriter()
        write(to: &out, pretty: true)
        out.newline()
        return out.bytes
    }
}
