import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A strict RFC 8259 JSON reader over bytes. It builds a ``JSONDocument``: a flat tape of
/// tokens that remember each value's source offset, with nothing materialised.
///
/// Nesting depth is limited so that hostile input cannot exhaust the stack. Large documents
/// are read on all cores (``parseDocument(_:parts:)``).
public struct JSONReader {
    /// A syntax error with its byte offset.
    public struct SyntaxError: Error, Sendable {
        /// What is wrong.
        public var message: String
        /// Where, as a byte offset.
        public var offset: Int
    }

    /// Maximum nesting of arrays and objects.
    public static let maximumDepth = 512

    /// Largest document the tape's 32-bit offsets can address.
    public static let maximumSize = Int(UInt32.max)

    /// Documents at least this long are read on all cores.
    static let parallelThreshold = 8 << 20

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// The deepest nesting reached.
    private var deepest = 0
    private var tape: [JSONToken] = []
    /// Runs of array elements read ahead on other cores, by start offset.
    private var runs: [RunSlot] = []
    /// The first run the parse has not passed yet.
    private var nextRun = 0
    /// How many runs the parse took over.
    private var runsTaken = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses one JSON document; only white space may follow it.
    public static func parse(_ source: [UInt8]) throws(SyntaxError) -> JSONNode {
        try parseDocument(source).root
    }

    /// Parses one JSON document into its tape; only white space may follow it. Documents of
    /// 8 MiB or more are read on all cores.
    public static func parseDocument(_ source: [UInt8]) throws(SyntaxError) -> JSONDocument {
        try parseDocument(.array(source))
    }

    /// Parses one JSON document from `source`, which the document keeps, as
    /// ``parseDocument(_:)-([UInt8])`` does.
    public static func parseDocument(_ source: SourceBytes) throws(SyntaxError) -> JSONDocument {
        // Asked only of large documents: glibc reads the count from /sys on every call.
        let parts =
            source.count >= parallelThreshold ? max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) : 1
        return try parseDocument(source, parts: parts)
    }

    /// Parses one JSON document with its bytes cut into `parts` at line starts.
    static func parseDocument(_ source: SourceBytes, parts: Int) throws(SyntaxError)
        -> JSONDocument
    {
        let read = source.withUnsafeBufferPointer { readTape(of: $0, parts: parts) }
        return JSONDocument(bytes: source, tape: try read.get().tape)
    }

    /// The tape of one JSON document read with its bytes cut into `parts` at line starts, and
    /// how many of the parts read ahead were taken over.
    ///
    /// Every part after the first is read ahead on another core as a run of array elements
    /// (``Run``), which the parse proper takes over instead of reading those bytes when it
    /// reaches the run's start as the start of an array element. A raw line feed can only be
    /// white space between tokens, so a line start is never inside a string; when it is not
    /// the start of an array element, or the bytes from there do not read as a run, the run
    /// is dropped and the parse reads them itself. The tape, and any error, are those of a
    /// serial parse.
    static func readTape(_ source: [UInt8], parts: Int) throws(SyntaxError) -> (
        tape: [JSONToken], runsTaken: Int
    ) {
        try source.withUnsafeBufferPointer { readTape(of: $0, parts: parts) }.get()
    }

    /// ``readTape(_:parts:)`` of the bytes in `source`.
    private static func readTape(of buffer: UnsafeBufferPointer<UInt8>, parts: Int)
        -> Result<(tape: [JSONToken], runsTaken: Int), SyntaxError>
    {
        guard buffer.count < maximumSize else {
            return .failure(
                SyntaxError(
                    message: "document of \(buffer.count) bytes exceeds the 4 GiB limit",
                    offset: 0))
        }
        var reader = JSONReader(bytes: buffer)
        // About one token per 8 bytes in corpora; the tape grows past that if it must.
        reader.tape.reserveCapacity(buffer.count / 8 + 4)
        let space = reader.tape.withUnsafeBufferPointer {
            TapeSpace(base: UInt(bitPattern: $0.baseAddress), tokens: reader.tape.capacity)
        }
        let readers = DispatchGroup()
        // The runs read `buffer`: every one must end before it goes.
        defer { readers.wait() }
        reader.runs = JSONReader.readRunsAhead(of: buffer, parts: parts, in: readers, tape: space)
        do {
            reader.skipWhitespace()
            try reader.readValue()
            reader.skipWhitespace()
            if reader.index != buffer.count {
                throw reader.error("unexpected text after the JSON document")
            }
            return .success((reader.tape, reader.runsTaken))
        } catch let error as SyntaxError {
            return .failure(error)
        } catch {
            return .failure(SyntaxError(message: "\(error)", offset: 0))
        }
    }

    private func error(_ message: String, at offset: Int? = nil) -> SyntaxError {
        SyntaxError(message: message, offset: offset ?? index)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    @inline(__always)
    private mutating func append(_ kind: JSONKind, start: Int, end: Int = 0, count: UInt32 = 0) {
        tape.append(
            JSONToken(
                start: UInt32(truncatingIfNeeded: start), end: UInt32(truncatingIfNeeded: end),
                count: count, kind: kind, depth: UInt16(truncatingIfNeeded: depth)))
    }

    private mutating func readValue() throws(SyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"): try readObject()
        case UInt8(ascii: "["): try readArray()
        case UInt8(ascii: "\""): try readString()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            append(.true, start: start)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            append(.false, start: start)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            append(.null, start: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try readNumber()
        default:
            throw error("unexpected character \(describe(bytes[index])), expected a value")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F
            ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("invalid literal", at: start) }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("invalid literal, expected \(literal)", at: start)
        }
        index += count
    }

    private mutating func enter() throws(SyntaxError) {
        depth += 1
        deepest = max(deepest, depth)
        if depth > JSONReader.maximumDepth {
            throw error("nesting deeper than \(JSONReader.maximumDepth) levels")
        }
    }

    /// Closes the container whose token is at `slot`.
    private mutating func close(_ slot: Int, count: UInt32) {
        tape[slot].end = UInt32(truncatingIfNeeded: tape.count)
        tape[slot].count = count
        depth -= 1
    }

    private mutating func readObject() throws(SyntaxError) {
        let slot = tape.count
        append(.object, start: index)
        try enter()
        index += 1
        var count: UInt32 = 0
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return close(slot, count: 0)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a member name in double quotes")
            }
            try readString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                let key = JSONReader.string(of: tape[tape.count - 1], in: bytes)
                throw error("expected ':' after member name \"\(key)\"")
            }
            index += 1
            skipWhitespace()
            try readValue()
            count += 1
            skipWhitespace()
            guard index < bytes.count else {
                throw error("unexpected end of input inside an object")
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return close(slot, count: count)
            }
            throw error("expected ',' or '}' in an object, found \(describe(bytes[index]))")
        }
    }

    private mutating func readArray() throws(SyntaxError) {
        let slot = tape.count
        append(.array, start: index)
        try enter()
        index += 1
        var count: UInt32 = 0
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return close(slot, count: 0)
        }
        while true {
            skipWhitespace()
            if nextRun < runs.count, index >= runs[nextRun].start, let elements = takeRun() {
                count += elements
            } else {
                try readValue()
                count += 1
            }
            skipWhitespace()
            guard index < bytes.count else {
                throw error("unexpected end of input inside an array")
            }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return close(slot, count: count)
            }
            throw error("expected ',' or ']' in an array, found \(describe(bytes[index]))")
        }
    }

    // MARK: - Reading ahead on other cores

    /// Array elements read ahead from a line start: their tokens (container ends counted from
    /// the run's first token, depths from the array's elements), how many there are, and
    /// where the last one ends.
    struct Run {
        var tokens: [JSONToken]
        var elements: UInt32
        var stop: Int
        /// The deepest nesting inside, counted from the array.
        var deepest: Int
    }

    /// A run being read on another core.
    final class RunSlot: @unchecked Sendable {
        /// Where its first element starts.
        let start: Int
        /// Set once `read` is signalled; nil when the bytes do not read as a run.
        var run: Run?
        let read = DispatchSemaphore(value: 0)

        init(start: Int) { self.start = start }
    }

    /// Where the tape of the parse proper was reserved: its address and capacity in tokens.
    struct TapeSpace: Sendable {
        let base: UInt
        let tokens: Int

        /// Asks the kernel to map, without writing them, the pages where a run of `count`
        /// tokens that starts `offset` bytes into the document will most likely be copied,
        /// estimating the tokens before it from the run's own density.
        ///
        /// The parse proper copies every run into its tape once it has read its own part, and
        /// the first write to each page then costs a fault. A run's core is free by then, so
        /// it maps the pages ahead of the copy. Mapping a page changes no content (Linux
        /// `MADV_POPULATE_WRITE`; a page already there is left as it is), so it is safe
        /// while the copy runs, and even if the tape has outgrown its reservation and moved;
        /// where the estimate is off, or the tape moved, the copy just faults as before.
        func prepare(runOf count: Int, at offset: Int, spanning bytes: Int) {
            #if os(Linux)
                guard base != 0, count > 0, bytes > 0 else { return }
                let before = Double(offset) * Double(count) / Double(bytes)
                let first = max(0, Int(before * 0.97))
                let end = min(tokens, Int(before * 1.03) + count)
                let stride = MemoryLayout<JSONToken>.stride
                let page = Int(sysconf(Int32(_SC_PAGESIZE)))
                let start = (Int(base) + first * stride + page - 1) / page * page
                let stop = (Int(base) + end * stride) / page * page
                guard stop > start else { return }
                let populateWrite: Int32 = 23  // MADV_POPULATE_WRITE, Linux 5.14
                _ = madvise(UnsafeMutableRawPointer(bitPattern: start), stop - start, populateWrite)
            #endif
        }
    }

    /// Starts reading a run at the first line start past each of the `parts - 1` cut points
    /// of `bytes`, each on its own core and each ending where the next one starts. Once read,
    /// a run prepares the pages of `tape` it will be copied to.
    private static func readRunsAhead(
        of bytes: UnsafeBufferPointer<UInt8>, parts: Int, in group: DispatchGroup,
        tape: TapeSpace
    ) -> [RunSlot] {
        var starts: [Int] = []
        for part in 1..<max(1, parts) {
            var start = bytes.count * part / parts
            while start < bytes.count, bytes[start] != UInt8(ascii: "\n") { start += 1 }
            while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) {
                start += 1
            }
            if start < bytes.count, (starts.last ?? 0) < start { starts.append(start) }
        }
        let slots = starts.map(RunSlot.init)
        nonisolated(unsafe) let bytes = bytes
        for (position, slot) in slots.enumerated() {
            let limit = position + 1 < starts.count ? starts[position + 1] : bytes.count
            // A queue of its own may start a thread beyond the core count, so the run starts
            // even when every pooled thread is waiting in a parse of its own.
            DispatchQueue(label: "inlinelb.json-run").async(group: group) {
                let run = readRun(of: bytes, from: slot.start, to: limit)
                let (count, spanning) = (run?.tokens.count ?? 0, (run?.stop ?? 0) - slot.start)
                slot.run = run
                // The parse proper may take the run from here on, and copy it while the
                // pages it goes to are prepared.
                slot.read.signal()
                tape.prepare(runOf: count, at: slot.start, spanning: spanning)
            }
        }
        return slots
    }

    /// The array elements from `start` on: values separated by commas, up to a `]` or to the
    /// element that starts at `limit`; nil when the bytes do not read so.
    private static func readRun(
        of bytes: UnsafeBufferPointer<UInt8>, from start: Int, to limit: Int
    ) -> Run? {
        var reader = JSONReader(bytes: bytes)
        reader.index = start
        reader.tape.reserveCapacity((limit - start) / 8 + 4)
        var elements: UInt32 = 0
        while true {
            guard (try? reader.readValue()) != nil else { return nil }
            elements += 1
            let stop = reader.index
            reader.skipWhitespace()
            guard reader.index < bytes.count else { return nil }
            let run = Run(
                tokens: reader.tape, elements: elements, stop: stop, deepest: reader.deepest)
            if bytes[reader.index] == UInt8(ascii: "]") { return run }
            guard bytes[reader.index] == UInt8(ascii: ",") else { return nil }
            reader.index += 1
            reader.skipWhitespace()
            if reader.index == limit { return run }
        }
    }

    /// Takes over the run that starts at the current element, if there is one that reads as a
    /// run and stays within the nesting limit: its tokens join the tape and the parse goes on
    /// after its last element. Returns how many elements it holds.
    private mutating func takeRun() -> UInt32? {
        // A run the parse went past without meeting its start can never be taken.
        while nextRun < runs.count, runs[nextRun].start < index { nextRun += 1 }
        guard nextRun < runs.count, runs[nextRun].start == index else { return nil }
        let slot = runs[nextRun]
        nextRun += 1
        slot.read.wait()
        guard let run = slot.run, depth + run.deepest <= JSONReader.maximumDepth else {
            return nil
        }
        slot.run = nil
        let base = tape.count
        let depth = UInt16(truncatingIfNeeded: self.depth)
        tape.append(contentsOf: run.tokens)
        tape.withUnsafeMutableBufferPointer { tape in
            for position in base..<tape.count {
                tape[position].depth &+= depth
                if tape[position].isContainer {
                    tape[position].end &+= UInt32(truncatingIfNeeded: base)
                }
            }
        }
        index = run.stop
        runsTaken += 1
        return run.elements
    }

    private mutating func readNumber() throws(SyntaxError) {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw error("invalid number", at: start)
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw error("invalid number: leading zero", at: start)
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: digits expected after '.'", at: start)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count,
            bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")
        {
            integral = false
            index += 1
            if index < bytes.count,
                bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")
            {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("invalid number: digits expected in exponent", at: start)
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        append(.number, start: start, end: index, count: integral ? 1 : 0)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    private mutating func readString() throws(SyntaxError) {
        let start = index
        index += 1
        var flags: UInt32 = 0
        while index < bytes.count {
            index += JSONReader.plainBytes(bytes, from: index)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            // One test catches both control characters and non-ASCII bytes.
            if byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte &- 0x20 < 0x60 {
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                append(.string, start: start, end: index, count: flags)
                index += 1
                return
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw error("unterminated string", at: start) }
                flags |= JSONToken.escaped
                _ = try JSONReader.readEscape(bytes, at: &index)
            case 0x80...:
                flags |= JSONToken.nonASCII
                guard let after = JSONReader.validUTF8Sequence(bytes, at: index) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                index = after
            default:
                throw error("control character in a string")
            }
        }
        throw error("unterminated string", at: start)
    }

    /// How many bytes from `index` on need no attention inside a string (none of `"`, `\`, a
    /// control character or a non-ASCII byte), counted eight at a time: a whole word is
    /// tested at once, and the first byte that needs attention is the lowest flagged one (the
    /// borrows of the subtractions only ever flag bytes above a truly flagged one). Stops where
    /// fewer than eight bytes are left, which the caller reads one at a time.
    @inline(__always)
    static func plainBytes(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        while index + offset + 8 <= bytes.count {
            let word = UnsafeRawPointer(bytes.baseAddress! + index + offset).loadUnaligned(
                as: UInt64.self
            ).littleEndian
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let flagged =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | ((word &- ones &* 0x20) & ~word) | word
            let attention = flagged & highs
            if attention != 0 { return offset + attention.trailingZeroBitCount / 8 }
            offset += 8
        }
        return offset
    }

    /// The index after the well-formed UTF-8 sequence starting at `index` (RFC 3629), or nil.
    private static func validUTF8Sequence(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int)
        -> Int?
    {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: return nil
        }
        guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else {
            return nil
        }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return nil }
        return index + length
    }

    /// Decodes the escape sequence whose backslash is at `index` and moves `index` past it.
    static func readEscape(_ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int)
        throws(SyntaxError) -> Unicode.Scalar
    {
        let escape = bytes[index + 1]
        index += 2
        switch escape {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            var scalar = try readHex4(bytes, at: &index)
            if (0xD800..<0xDC00).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else {
                    throw SyntaxError(message: "unpaired surrogate in \\u escape", offset: index)
                }
                index += 2
                let low = try readHex4(bytes, at: &index)
                guard (0xDC00..<0xE000).contains(low) else {
                    throw SyntaxError(message: "unpaired surrogate in \\u escape", offset: index)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw SyntaxError(message: "unpaired surrogate in \\u escape", offset: index)
            }
            // Every value left is a valid scalar: surrogates were handled above.
            return Unicode.Scalar(scalar)!
        default:
            throw SyntaxError(
                message: "invalid escape '\\\(Character(Unicode.Scalar(escape)))'",
                offset: index - 2)
        }
    }

    private static func readHex4(_ bytes: UnsafeBufferPointer<UInt8>, at index: inout Int)
        throws(SyntaxError) -> UInt32
    {
        guard index + 4 <= bytes.count else {
            throw SyntaxError(message: "truncated \\u escape", offset: index)
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw SyntaxError(message: "invalid hex digit in \\u escape", offset: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// The text of the string `token` (which the reader produced from `bytes`).
    static func string(of token: JSONToken, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        let content = UnsafeBufferPointer(rebasing: bytes[Int(token.start) + 1..<Int(token.end)])
        if token.count & JSONToken.escaped != 0 { return unescape(content) }
        if token.count & JSONToken.nonASCII != 0 { return String(decoding: content, as: UTF8.self) }
        return asciiString(content)
    }

    /// The text of string content that contains escapes (already checked by the reader).
    static func unescape(_ content: UnsafeBufferPointer<UInt8>) -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(content.count)
        var index = 0
        while index < content.count {
            if content[index] == UInt8(ascii: "\\") {
                // The reader accepted this escape, so decoding it cannot fail.
                let scalar = try! readEscape(content, at: &index)
                decoded.append(contentsOf: String(Character(scalar)).utf8)
            } else {
                decoded.append(content[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// A string from bytes known to be ASCII, without the generic validating initializers.
    static func asciiString(_ slice: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: slice.count) { buffer in
            _ = buffer.initialize(fromContentsOf: slice)
            return slice.count
        }
    }
}
