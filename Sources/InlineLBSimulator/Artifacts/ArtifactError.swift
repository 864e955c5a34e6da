/// A problem in an emitted artifact: the file, the line, and what is wrong. Directives the
/// simulator does not model are reported this way, never silently ignored.
public struct ArtifactError: Error, Sendable, CustomStringConvertible {
    /// The artifact's path (relative to the output folder).
    public var file: String
    /// The line, from 1; 0 for whole-file problems.
    public var line: Int
    public var message: String

    public init(file: String, line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Where a decision came from: an artifact line.
public struct SourceLine: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}
