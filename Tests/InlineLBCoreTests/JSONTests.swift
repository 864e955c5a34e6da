import Foundation
import Testing

@testable import InlineLBCore

@Suite("JSON reader and writer")
struct JSONTests {
    private func parse(_ text: String) throws -> JSONNode {
        try JSONReader.parse(Array(text.utf8))
    }

    /// A document head and an array of values rendered one by one join as the whole
    /// document renders, and the returned ranges hold each value.
    @Test(arguments: [0, 1, 3])
    func anArrayOfRenderedValuesIsWrittenAsTheWholeArray(count: Int) {
        let values: [JSONOutput] = (0..<count).map { index in
            .object([("id", .int(index)), ("tags", .array([.string("a"), .null]))])
        }
        let whole = JSONOutput.object([
            ("name", .string("x \"quoted\"")), ("count", .int(-7)), ("items", .array(values)),
        ])
        var expected = ByteWriter()
        whole.write(to: &expected, pretty: true)
        let rendered = values.map { value in
            var out = ByteWriter()
            value.write(to: &out, pretty: true, indent: 4)
            return out.bytes[...]
        }
        let head = JSONOutput.documentHead(
            [("name", .string("x \"quoted\"")), ("count", .int(-7))], then: "items")
        let (parts, ranges) = JSONOutput.parts(
            head, arrayOfRendered: rendered, indent: 2, Array("\n}".utf8))
        let document = Array(parts.joined())
        #expect(String(decoding: document, as: UTF8.self) == expected.string)
        #expect(ranges.map { Array(document[$0]) } == rendered.map { Array($0) })
    }

    /// Keys are found by the bits of a literal's value when they match, and by their bytes
    /// otherwise (a string built at run time, a long name stored elsewhere).
    @Test func keyPositionsAreFoundByBitsOrBytes() {
        let keys = JSONKeys(["id", "healthcheckpolicy", "virtualmachineids", "name"])
        #expect(keys.position(of: "id") == 0)
        #expect(keys.position(of: "virtualmachineids") == 2)
        #expect(keys.position(of: ["health", "check", "policy"].joined()) == 1)
        #expect(keys.position(of: String("xname".dropFirst())) == 3)
        #expect(keys.position(of: "nam") == nil)
        #expect(keys.position(of: "healthcheckpolicx") == nil)
        #expect(keys.position(of: "") == nil)
    }

    /// Member names are matched against the keys as two words and a length, with the bytes
    /// past the 16th compared apart; names with escapes, and names too close to the end of
    /// the document to load 16 bytes, are compared byte by byte. Each way must agree with
    /// plain string comparison.
    @Test func membersAreMatchedAgainstKeysAsStringsWouldBe() throws {
        let keys = JSONKeys([
            "id", "", "publicport", "stickinesspolicy", "virtualmachineids",
            "abcdefghijklmnop", "abcdefghijklmnopq",
        ])
        let names = [
            "id", "i", "idd", "", "publicport", "publicporT", "stickinesspolicy",
            "stickinesspolicx", "virtualmachineids", "virtualmachineidz", "virtualmachineid",
            "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmno", "abcdefghijklmnopqr",
            "\\u0069d", "caf\u{e9}",
        ]
        for (first, second) in zip(names, names.dropFirst() + names.prefix(1)) {
            for tail in ["", "                    "] {
                let text = "{\"\(first)\": 1, \"\(second)\": 2, \"\(first)\": 3}" + tail
                let document = try JSONReader.parseDocument(Array(text.utf8))
                document.withTape { tape in
                    let table = tape.root.members(matching: keys)
                    let decoded = [first, second].map { name in
                        name == "\\u0069d" ? "id" : name.replacingOccurrences(of: "\\", with: "")
                    }
                    for (position, key) in keys.names.enumerated() {
                        let expected = decoded[0] == key ? 1 : decoded[1] == key ? 2 : nil
                        #expect(
                            table.value(at: position)?.integer == expected,
                            "key \(key) in \(text)")
                    }
                    let unknown = decoded.enumerated().filter { !keys.names.contains($0.element) }
                    #expect(table.unknown.map(\.key) == unknown.map(\.element), "\(text)")
                    #expect(table.repeated.map(\.key) == [decoded[0]], "\(text)")
                }
            }
        }
    }

    /// An array of non-empty strings is read in place; anything else in it (an empty
    /// string, another kind of value, a nested container) leaves it to the caller's walk.
    @Test func nonEmptyStringsAreReadInPlaceOrNotAtAll() throws {
        let cases: [(String, [String]?)] = [
            ("[]", []),
            ("[\"vm-1\", \"a\\u0062c\", \"caf\u{e9}\"]", ["vm-1", "abc", "caf\u{e9}"]),
            ("[\"vm-1\", \"\"]", nil),
            ("[\"vm-1\", 2]", nil),
            ("[\"vm-1\", [\"vm-2\"]]", nil),
            ("[[], \"vm-1\"]", nil),
            ("{\"a\": \"vm-1\"}", nil),
            ("\"vm-1\"", nil),
        ]
        for (text, expected) in cases {
            let document = try JSONReader.parseDocument(Array(("[" + text + ", \"x\"]").utf8))
            document.withTape { tape in
                let value = tape.root.elements.first { _ in true }!
                #expect(value.nonEmptyStrings == expected, "\(text)")
            }
        }
    }

    @Test func objectsKeepOrderAndOffsets() throws {
        let node = try parse("{\"b\": 1, \"a\": [true, null, \"x\"]}")
        guard case .object(let members) = node.value else {
            Issue.record("expected an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(members[1].node.offset == 14)
        #expect(members[0].keyOffset == 1)
    }

    @Test func numbersKeepIntegersApart() throws {
        guard case .array(let elements) = try parse("[80, -3, 1.5, 1e3, 0]").value else {
            Issue.record("expected an array")
            return
        }
        let integers = elements.map { element -> Int? in
            if case .number(_, let integer) = element.value { return integer }
            return nil
        }
        #expect(integers == [80, -3, nil, nil, 0])
    }

    /// Strings are scanned eight bytes at a time: a byte that needs attention must be found
    /// at every offset within a word, including after a plain run and near the end.
    @Test func everyOffsetOfAStringIsScanned() throws {
        for length in 0..<20 {
            for position in 0..<length {
                func text(_ special: String) -> String {
                    String(repeating: "a", count: position) + special
                        + String(repeating: "b", count: length - position - 1)
                }
                #expect(try parse("\"" + text("\\n") + "\"").string == text("\n"))
                #expect(try parse("\"" + text("é") + "\"").string == text("é"))
                #expect(throws: JSONReader.SyntaxError.self) {
                    try parse("\"" + text("\u{01}") + "\"")
                }
                #expect(throws: JSONReader.SyntaxError.self) {
                    try JSONReader.parse(Array(("\"" + text("x")).utf8) + [0xFF, 0x22])
                }
            }
            // The closing quote at every offset.
            let plain = String(repeating: "c", count: length)
            #expect(try parse("\"" + plain + "\"").string == plain)
            #expect(throws: JSONReader.SyntaxError.self) { try parse("\"" + plain) }
        }
    }

    @Test func escapesAndSurrogatesDecode() throws {
        let node = try parse(#""a\u00e9\ud83d\ude00\n\/""#)
        guard case .string(let text) = node.value else {
            Issue.record("expected a string")
            return
        }
        #expect(text == "aé😀\n/")
    }

    @Test(
        "malformed documents are refused with an offset",
        arguments: [
            ("{\"a\": 1,}", 8), ("[1 2]", 3), ("01", 0), ("\"abc", 0), ("{\"a\" 1}", 5), ("tru", 0),
            ("[1] x", 4), ("\"\\ud800\"", 7), ("", 0), ("{\"a\":\"\u{01}\"}", 6), ("1.", 0),
            ("\"ab\\", 0),
        ])
    func malformed(_ text: String, _ offset: Int) {
        do {
            _ = try parse(text)
            Issue.record("\(text) parsed")
        } catch let error as JSONReader.SyntaxError {
            #expect(error.offset == offset, "\(text): \(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONReader.SyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try parse(fine) }
    }

    @Test func agreesWithFoundationOnTheBundledCorpora() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "corpora")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasSuffix(".json")
        }
        #expect(!files.isEmpty)
        for file in files {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let ours = try JSONReader.parse([UInt8](data))
            let theirs = try JSONSerialization.jsonObject(with: data)
            #expect(normalize(ours, sortingKeys: true) == normalize(foundation: theirs), "\(file)")
        }
    }

    @Test func locationsCountLinesAndColumns() {
        let source = Array("ab\ncd\nef".utf8)
        #expect(SourceLocation(offset: 0, in: source).description == "1:1")
        #expect(SourceLocation(offset: 4, in: source).description == "2:2")
        #expect(SourceLocation(offset: 6, in: source).description == "3:1")
    }

    @Test func outputIsStableAndReadable() throws {
        let value = JSONOutput.object([
            ("b", .int(2)), ("a", .array([.string("x"), .null, .bool(true)])), ("o", .object([])),
        ])
        var compact = ByteWriter()
        value.write(to: &compact, pretty: false)
        #expect(compact.string == #"{"b":2,"a":["x",null,true],"o":{}}"#)
        let reparsed = try JSONReader.parse(value.document)
        #expect(normalize(reparsed) == "{b:2.0,a:[\"x\",null,true],o:{}}")
    }

    /// A canonical text of a parsed value (members in order).
    private func normalize(_ node: JSONNode, sortingKeys: Bool = false) -> String {
        switch node.value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let text, _): String(Double(text)!)
        case .string(let text): "\"\(text)\""
        case .array(let elements):
            "[" + elements.map { normalize($0, sortingKeys: sortingKeys) }.joined(separator: ",")
                + "]"
        case .object(let members):
            "{"
                + (sortingKeys ? members.sorted { $0.key < $1.key } : members)
                .map { "\($0.key):" + normalize($0.node, sortingKeys: sortingKeys) }.joined(
                    separator: ",") + "}"
        }
    }

    /// The same canonical text of a Foundation value; objects are compared with sorted keys.
    private func normalize(foundation value: Any) -> String {
        switch value {
        case let dictionary as [String: Any]:
            "{"
                + dictionary.keys.sorted().map { "\($0):" + normalize(foundation: dictionary[$0]!) }
                .joined(separator: ",") + "}"
        case let array as [Any]:
            "[" + array.map { normalize(foundation: $0) }.joined(separator: ",") + "]"
        case let string as String: "\"\(string)\""
        case let number as NSNumber:
            String(cString: number.objCType) == "c"
                ? (number.boolValue ? "true" : "false") : String(number.doubleValue)
        default: "null"
        }
    }
}
