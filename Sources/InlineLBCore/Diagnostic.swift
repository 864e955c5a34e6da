/// One problem found in an input file: where it is and what is wrong.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given on the command line.
    public var file: String
    /// Line and column, when known.
    public var location: SourceLocation?
    /// The JSON path of the offending value (`loadbalancerrules[0].publicport`), or the
    /// entity for file-level problems.
    public var path: String
    /// What is wrong, in one sentence.
    public var message: String

    /// Creates a diagnostic.
    public init(file: String, location: SourceLocation?, path: String, message: String) {
        self.file = file
        self.location = location
        self.path = path
        self.message = message
    }

    /// `file:line:col: path: message`.
    public var description: String {
        var text = file
        if let location { text += ":\(location)" }
        if !path.isEmpty { text += ": \(path)" }
        return text + ": " + message
    }
}

/// All diagnostics of one input; thrown when any was found.
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    /// The problems, in source order.
    public var diagnostics: [Diagnostic]

    /// Creates the list.
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
