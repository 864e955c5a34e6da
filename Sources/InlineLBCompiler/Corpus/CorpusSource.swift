import InlineLBCore

/// A corpus file's bytes and parse tree, kept so that every diagnostic can name a line and
/// column.
public struct CorpusSource: Sendable {
    /// The file name as the user gave it.
    public var file: String
    /// The raw bytes.
    public var bytes: [UInt8]
    /// The parsed document.
    public var root: JSONNode

    /// Parses `bytes`; a syntax error becomes a diagnostic naming line and column.
    public init(file: String, bytes: [UInt8]) throws(DiagnosticList) {
        self.file = file
        self.bytes = bytes
        do {
            root = try JSONReader.parse(bytes)
        } catch {
            throw DiagnosticList([
                Diagnostic(
                    file: file, location: SourceLocation(offset: error.offset, in: bytes),
                    path: "", message: "malformed JSON: \(error.message)")
            ])
        }
    }

    /// A diagnostic at `path` (located at the deepest node that exists along it).
    public func diagnostic(at path: JSONPath, entity: String? = nil, _ message: String)
        -> Diagnostic
    {
        let node = root.deepest(along: path)
        var location = path.description
        if let entity { location += " (\(entity))" }
        return Diagnostic(
            file: file, location: SourceLocation(offset: node.offset, in: bytes), path: location,
            message: message)
    }
}
