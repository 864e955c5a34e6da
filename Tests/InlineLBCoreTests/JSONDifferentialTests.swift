import Foundation
import InlineLBCore
import Testing

/// Our reader against Foundation's `JSONDecoder` on the same inputs: seeded random documents
/// (which both must read alike) and byte-level mutations of them (which both must accept or
/// refuse alike, apart from the differences below, where we follow RFC 8259).
///
/// - `JSONDecoder` accepts a trailing comma before `]` or `}`; RFC 8259 does not.
/// - `JSONDecoder` refuses numbers beyond `Double`'s range and `0` with an exponent (`0e3`,
///   which `JSONSerialization` accepts); RFC 8259 allows both.
///
/// This suite found a hang: a string ending in a backslash at the end of input.
@Suite("JSON reader against JSONDecoder")
struct JSONDifferentialTests {
    /// Any JSON value, as `JSONDecoder` sees it.
    private enum FoundationValue: Decodable, Equatable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([FoundationValue])
        case object([String: FoundationValue])

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var items: [FoundationValue] = []
                while !list.isAtEnd { items.append(try list.decode(FoundationValue.self)) }
                self = .array(items)
            } else if let members = try? decoder.container(keyedBy: Key.self) {
                var object: [String: FoundationValue] = [:]
                for key in members.allKeys {
                    object[key.stringValue] = try members.decode(FoundationValue.self, forKey: key)
                }
                self = .object(object)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    self = .null
                } else if let flag = try? single.decode(Bool.self) {
                    self = .bool(flag)
                } else if let number = try? single.decode(Double.self) {
                    self = .number(number)
                } else {
                    self = .string(try single.decode(String.self))
                }
            }
        }
    }

    /// Our parse in the same shape; nil when an object repeats a name (Foundation keeps one).
    private func converted(_ node: JSONNode) -> FoundationValue? {
        switch node.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return Double(node.numberText ?? "").map { .number($0) }
        case .string: return node.string.map { .string($0) }
        case .array:
            var items: [FoundationValue] = []
            for element in node.elements {
                guard let item = converted(element) else { return nil }
                items.append(item)
            }
            return .array(items)
        case .object:
            var object: [String: FoundationValue] = [:]
            for member in node.members {
                guard object[member.key] == nil, let value = converted(member.node) else {
                    return nil
                }
                object[member.key] = value
            }
            return .object(object)
        }
    }

    /// Deterministic draws: the XXH3 of a counter under a seed.
    private struct Generator {
        var state: UInt64
        private var counter: UInt64 = 0
        init(state: UInt64) { self.state = state }
        mutating func next() -> UInt64 {
            counter += 1
            return withUnsafeBytes(of: counter) { Digest.xxh3($0, seed: state) }
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    private static let stringPieces = [
        "a", "id", "lb-7", " ", "é", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00",
        "\\t", "10.0.0.1", "",
    ]

    private func text(_ random: inout Generator, depth: Int) -> String {
        let space = [" ", "", "\n", "\t", "  "][random.below(5)]
        switch depth > 3 ? random.below(5) : random.below(7) {
        case 0: return "null"
        case 1: return random.below(2) == 0 ? "true" : "false"
        case 2:
            let forms = ["0", "-0", "7", "65535", "-12", "1.5", "2e3", "-0.25E-2", "123456789012"]
            return forms[random.below(forms.count)]
        case 3, 4:
            let count = random.below(4)
            let pieces = (0..<count).map { _ in
                Self.stringPieces[random.below(Self.stringPieces.count)]
            }
            return "\"" + pieces.joined() + "\""
        case 5:
            let items = (0..<random.below(4)).map { _ in text(&random, depth: depth + 1) }
            return "[" + space + items.joined(separator: "," + space) + "]"
        default:
            let items = (0..<random.below(4)).map { index in
                "\"k\(index)\"" + space + ":" + text(&random, depth: depth + 1)
            }
            return "{" + space + items.joined(separator: "," + space) + space + "}"
        }
    }

    private func foundation(_ bytes: [UInt8]) -> FoundationValue? {
        try? JSONDecoder().decode(FoundationValue.self, from: Data(bytes))
    }

    /// Whether a `,` is followed, after white space, by `]` or `}` (outside strings).
    private func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false
        var escaped = false
        var lastSignificant: UInt8 = 0
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if lastSignificant == UInt8(ascii: ",") { return true }
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            lastSignificant = byte
        }
        return false
    }

    /// Whether the document holds a number beyond `Double`'s range or a zero with an exponent.
    private func hasNumberJSONDecoderRefuses(_ node: JSONNode) -> Bool {
        switch node.kind {
        case .number:
            let text = node.numberText ?? ""
            let unsigned = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            let zeroWithExponent =
                unsigned.hasPrefix("0e") || unsigned.hasPrefix("0E")
            return zeroWithExponent || !(Double(text)?.isFinite ?? false)
        case .array: return node.elements.contains(where: hasNumberJSONDecoderRefuses)
        case .object: return node.members.contains { hasNumberJSONDecoderRefuses($0.node) }
        default: return false
        }
    }

    @Test func randomDocumentsReadTheSame() throws {
        var random = Generator(state: 2026)
        for _ in 0..<3000 {
            let bytes = Array(text(&random, depth: 0).utf8)
            let ours = try JSONReader.parse(bytes)
            let theirs = try #require(
                foundation(bytes), "\(String(decoding: bytes, as: UTF8.self))")
            #expect(converted(ours) == theirs, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func mutatedDocumentsAreAcceptedOrRefusedAlike() {
        var random = Generator(state: 11)
        let alphabet = Array("{}[]:,\"\\0123456789-+.eEtrufalsn u\u{01}".utf8) + [0xC3, 0xFF, 0xED]
        var refusedByBoth = 0
        for _ in 0..<20000 {
            var bytes = Array(text(&random, depth: 0).utf8)
            for _ in 0...random.below(3) {
                let position = random.below(bytes.count + 1)
                switch random.below(3) {
                case 0 where position < bytes.count: bytes.remove(at: position)
                case 1: bytes.insert(alphabet[random.below(alphabet.count)], at: position)
                default:
                    if position < bytes.count {
                        bytes[position] = alphabet[random.below(alphabet.count)]
                    }
                }
            }
            let ours = try? JSONReader.parse(bytes)
            let theirs = foundation(bytes)
            let shown = String(decoding: bytes, as: UTF8.self)
            switch (ours, theirs) {
            case (nil, nil): refusedByBoth += 1
            case (let ours?, let theirs?):
                if let ours = converted(ours) { #expect(ours == theirs, "\(shown)") }
            case (nil, _?):
                #expect(hasTrailingComma(bytes), "refused only by us: \(shown) \(Array(bytes))")
            case (let ours?, nil):
                #expect(
                    hasNumberJSONDecoderRefuses(ours),
                    "accepted only by us: \(shown) \(Array(bytes))")
            }
        }
        #expect(refusedByBoth > 1000)
    }
}
