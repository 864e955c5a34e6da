import InlineLBCore

/// A corpus file's bytes and parse tree, kept so that every diagnostic can name a line and
/// column.
public struct CorpusSource: Sendable {
    /// The file name as the user gave it.
    public var file: String
    /// The raw bytes.
    public var bytes: SourceBytes
    /// The parsed document.
    public var root: JSONNode

    /// Parses `bytes`; a syntax error becomes a diagnostic naming line and column.
    public init(file: String, bytes: [UInt8]) throws(DiagnosticList) {
        try self.init(file: file, bytes: .array(bytes))
    }

    /// Parses `bytes` (a mapped file's, say), which the source keeps.
    public init(file: String, bytes: SourceBytes) throws(DiagnosticList) {
        self.file = file
        self.bytes = bytes
        do {
            root = try JSONReader.parseDocument(bytes).root
        } catch {
            throw DiagnosticList([
                Diagnostic(
                    file: file, location: bytes.location(of: error.offset), path: "",
                    message: "malformed JSON: \(error.message)")
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
            file: file, location: bytes.location(of: node.offset), path: location,
            message: message)
    }
}
