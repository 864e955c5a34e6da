import Testing

@testable import InlineLBCore

#if canImport(Glibc)
    import Glibc
#endif

/// Large documents are read on several cores: runs of array elements read ahead from line
/// starts are taken over by the parse proper. Whatever the cut, the tape and any error must be
/// those of a serial parse.
@Suite("JSON reader on several cores")
struct JSONParallelTests {
    /// Seeded pseudo-random numbers (XXH3 of a counter).
    private struct Generator {
        let seed: UInt64
        private var counter: UInt64 = 0
        init(seed: UInt64) { self.seed = seed }
        mutating func below(_ bound: Int) -> Int {
            counter += 1
            return Int(withUnsafeBytes(of: counter) { Digest.xxh3($0, seed: seed) } % UInt64(bound))
        }
    }

    /// A value, sometimes spread over lines, with strings that hold brackets, commas, quotes
    /// and what looks like JSON.
    private func value(_ random: inout Generator, depth: Int) -> String {
        let space = [" ", "", "\n", "\n  ", "\t"][random.below(5)]
        switch depth > 3 ? random.below(4) : random.below(6) {
        case 0: return ["null", "true", "false", "-0.5e3", "42"][random.below(5)]
        case 1, 2:
            let pieces = ["a", "], [", "},\\n{", ",", "\\\"", "\\\\", "é", "[1, 2]", "\\u005d"]
            return "\""
                + (0..<random.below(4)).map { _ in pieces[random.below(pieces.count)] }
                .joined() + "\""
        case 3:
            let items = (0..<random.below(4)).map { _ in value(&random, depth: depth + 1) }
            return "[" + items.joined(separator: "," + space) + "]"
        default:
            let members = (0..<random.below(4)).map {
                "\"k\($0)\":" + space + value(&random, depth: depth + 1)
            }
            return "{" + space + members.joined(separator: "," + space) + space + "}"
        }
    }

    /// A document shaped like a corpus: an object of arrays with an element a line.
    private func document(_ random: inout Generator) -> [UInt8] {
        let arrays = (0..<(1 + random.below(3))).map { position in
            let elements = (0..<random.below(40)).map { _ in value(&random, depth: 2) }
            return "\"list\(position)\": [\n" + elements.joined(separator: ",\n") + "\n]"
        }
        return Array(("{\n" + arrays.joined(separator: ",\n") + "\n}\n").utf8)
    }

    /// The tape as comparable text, or the error.
    private func read(_ bytes: [UInt8], parts: Int) -> String {
        do {
            let tape = try JSONReader.readTape(bytes, parts: parts).tape
            return tape.map { "\($0.kind) \($0.start) \($0.end) \($0.count) \($0.depth)" }
                .joined(separator: ";")
        } catch {
            return "error at \(error.offset): \(error.message)"
        }
    }

    @Test func anyCutGivesTheSerialTape() {
        var random = Generator(seed: 7)
        for _ in 0..<300 {
            let bytes = document(&random)
            let serial = read(bytes, parts: 1)
            #expect(!serial.hasPrefix("error"), "\(String(decoding: bytes, as: UTF8.self))")
            for parts in [2, 3, 5, 9, 17] {
                #expect(read(bytes, parts: parts) == serial, "\(parts) parts")
            }
        }
    }

    /// Every token's depth is the number of containers around it, counted here by walking
    /// the tree from the top.
    @Test func depthsCountTheEnclosingContainers() throws {
        var random = Generator(seed: 9)
        for _ in 0..<200 {
            let bytes = document(&random)
            for parts in [1, 3] {
                let tape = try JSONReader.readTape(bytes, parts: parts).tape
                var expected = [Int](repeating: -1, count: tape.count)
                func visit(_ index: Int, depth: Int) {
                    expected[index] = depth
                    let token = tape[index]
                    guard token.isContainer else { return }
                    var child = index + 1
                    for _ in 0..<token.count {
                        if token.kind == .object {
                            expected[child] = depth + 1
                            child += 1
                        }
                        visit(child, depth: depth + 1)
                        child = tape[child].next(after: child)
                    }
                }
                visit(0, depth: 0)
                #expect(tape.map { Int($0.depth) } == expected, "\(parts) parts")
            }
        }
    }

    /// An array's elements cut into parts on all cores are its elements, in order, with each
    /// part's offset counting the elements before it.
    @Test func elementPartsJoinToTheElements() throws {
        var random = Generator(seed: 10)
        for _ in 0..<100 {
            let bytes = document(&random)
            let document = try JSONReader.parseDocument(.array(bytes), parts: 2)
            document.withTape { tape in
                for index in tape.tokens.indices where tape.tokens[index].kind == .array {
                    let array = JSONTapeNode(tape: tape, index: index)
                    let elements = array.elements.map(\.index)
                    for pieces in [1, 2, 3, 7, 64] {
                        let parts = array.elementParts(into: pieces)
                        #expect(parts.count <= pieces)
                        #expect(parts.flatMap { $0.elements.map(\.index) } == elements)
                        #expect(
                            parts.map(\.offset)
                                == parts.indices.map { part in
                                    parts[..<part].reduce(0) { $0 + $1.elements.count }
                                })
                    }
                }
                // Not an array: no parts.
                #expect(tape.root.elementParts(into: 4).isEmpty)
            }
        }
    }

    /// A run maps the pages of the tape it will most likely be copied to, and only those:
    /// `mincore` reports them resident before anything is written to them.
    @Test func aRunPreparesThePagesItWillBeCopiedTo() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var tape: [JSONToken] = []
        tape.reserveCapacity(4 << 20)
        let base = tape.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let space = JSONReader.TapeSpace(base: base, tokens: tape.capacity)
        // A run of 1M tokens read from 8 MB of a document, starting 8 MB in: about 1M tokens
        // come before it, so it goes to tokens 1M to 2M.
        space.prepare(runOf: 1 << 20, at: 8 << 20, spanning: 8 << 20)
        func resident(fromToken first: Int, to end: Int) -> [Bool] {
            let stride = MemoryLayout<JSONToken>.stride
            let start = (Int(base) + first * stride + page - 1) / page * page
            let stop = (Int(base) + end * stride) / page * page
            var vector = [UInt8](repeating: 0, count: (stop - start) / page)
            let status = mincore(
                UnsafeMutableRawPointer(bitPattern: start), stop - start, &vector)
            #expect(status == 0)
            return vector.map { $0 & 1 == 1 }
        }
        #expect(resident(fromToken: 1 << 20, to: 2 << 20).allSatisfy { $0 })
        #expect(resident(fromToken: 0, to: 900_000).allSatisfy { !$0 })
        #expect(resident(fromToken: 2_200_000, to: 4 << 20).allSatisfy { !$0 })
        withExtendedLifetime(tape) {}
    }

    @Test func brokenDocumentsFailAsInASerialParse() {
        var random = Generator(seed: 8)
        let alphabet = Array("{}[],:\"\\ \n0a".utf8) + [0x01, 0xFF]
        for _ in 0..<2000 {
            var bytes = document(&random)
            for _ in 0...random.below(2) {
                let position = random.below(bytes.count)
                if random.below(2) == 0 {
                    bytes[position] = alphabet[random.below(alphabet.count)]
                } else {
                    bytes.insert(alphabet[random.below(alphabet.count)], at: position)
                }
            }
            let serial = read(bytes, parts: 1)
            for parts in [2, 4, 11] {
                #expect(read(bytes, parts: parts) == serial, "\(parts) parts")
            }
        }
    }

    @Test func runsOfALongArrayAreTakenOver() throws {
        let lines = (0..<10_000).map { "{\"id\": \"r-\($0)\", \"ports\": [\($0), 80]}" }
        let bytes = Array(("{\"rules\": [\n" + lines.joined(separator: ",\n") + "\n]}").utf8)
        for parts in 2...8 {
            let (tape, runsTaken) = try JSONReader.readTape(bytes, parts: parts)
            #expect(runsTaken == parts - 1)
            // The object, the member name and the array, then seven tokens an element.
            #expect(tape.count == 3 + 10_000 * 7)
            #expect(tape[2].count == 10_000, "the array counts the elements of every run")
        }
    }

    /// A run is read without knowing how deep its array is: it is taken over only if its
    /// nesting stays within the limit where it lands.
    @Test func aRunTooDeepForItsPlaceIsReadSeriallyAndRefused() throws {
        func bytes(nesting: Int) -> [UInt8] {
            let deep =
                String(repeating: "[", count: nesting) + String(repeating: "]", count: nesting)
            let zeros = String(repeating: "0,\n", count: 1000)
            return Array(("{\"a\": [\n" + zeros + deep + "\n]}").utf8)
        }
        // The object and the array take two levels of the limit.
        let fits = bytes(nesting: JSONReader.maximumDepth - 2)
        #expect(try JSONReader.readTape(fits, parts: 2).runsTaken == 1)
        #expect(read(fits, parts: 2) == read(fits, parts: 1))
        let tooDeep = bytes(nesting: JSONReader.maximumDepth - 1)
        #expect(read(tooDeep, parts: 2) == read(tooDeep, parts: 1))
        #expect(read(tooDeep, parts: 2).contains("nesting deeper than"))
    }
}
