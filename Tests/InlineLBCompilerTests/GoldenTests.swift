import Foundation
import InlineLBCore
import Testing

@testable import InlineLBCompiler

/// Every bundled corpus compiles to exactly the committed files under `Golden/<corpus>/`.
/// Set INLINELB_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff.
@Suite("Golden artifacts of the bundled corpora")
struct GoldenTests {
    static let goldenRoot = packageRoot.appendingPathComponent("Tests/InlineLBCompilerTests/Golden")

    @Test("artifacts match the golden files", arguments: try bundledCorpusNames())
    func artifactsMatch(_ name: String) throws {
        let bytes = try readPackageFile("corpora/\(name).json")
        let corpus = try CorpusValidator.load(file: "corpora/\(name).json", bytes: bytes)
        let compilation = try Compilation(
            corpus: corpus, inputFile: "corpora/\(name).json", input: OutputFile.Artifact(of: bytes)
        )
        let folder = GoldenTests.goldenRoot.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["INLINELB_UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: folder)
            for file in compilation.files {
                let url = folder.appendingPathComponent(file.path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.bytes).write(to: url)
            }
        }
        let expected = try goldenFiles(in: folder)
        #expect(compilation.files.map(\.path) == expected, "file set of \(name)")
        for file in compilation.files {
            let golden = try Data(contentsOf: folder.appendingPathComponent(file.path))
            // Compared as text, so that a failure shows the lines rather than bytes.
            #expect(
                String(decoding: file.bytes, as: UTF8.self)
                    == String(decoding: golden, as: UTF8.self),
                "\(name)/\(file.path) differs from its golden file (INLINELB_UPDATE_GOLDEN=1 rewrites it)"
            )
        }
    }

    @Test func manifestDigestsDescribeTheArtifacts() throws {
        let bytes = try readPackageFile("corpora/shared-appliance.json")
        let corpus = try CorpusValidator.load(file: "shared-appliance.json", bytes: bytes)
        let compilation = try Compilation(
            corpus: corpus, inputFile: "shared-appliance.json",
            input: OutputFile.Artifact(of: bytes))
        let manifest = try #require(compilation.files.first { $0.path == "manifest.json" })
        let text = String(decoding: manifest.bytes, as: UTF8.self)
        for file in compilation.files where file.path != "manifest.json" {
            #expect(text.contains("\"path\": \"\(file.path)\""))
            #expect(text.contains("\"xxh3\": \"\(Digest.hex(Digest.xxh3(file.bytes)))\""))
        }
        #expect(text.contains("\"xxh3\": \"\(Digest.hex(Digest.xxh3(bytes)))\""))
    }

    private func goldenFiles(in folder: URL) throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else {
            return []
        }
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: folder.appendingPathComponent(path).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { paths.append(path) }
        }
        return paths.sorted()
    }
}
