import Foundation
import InlineLBCore
import Testing

@testable import InlineLBCompiler

/// Each corpus under corpora/invalid/ yields exactly the diagnostics in its `.expected` file.
@Suite("Invalid corpora")
struct ValidationTests {
    static func invalidCorpora() throws -> [String] {
        try FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("corpora/invalid").path
        )
        .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    @Test("each invalid corpus gives its expected errors", arguments: try invalidCorpora())
    func expectedErrors(_ name: String) throws {
        let file = "corpora/invalid/\(name).json"
        let bytes = try readPackageFile(file)
        let expected = String(
            decoding: try readPackageFile("corpora/invalid/\(name).expected"), as: UTF8.self
        )
        .split(separator: "\n").map(String.init)
        var actual: [String] = []
        do {
            let corpus = try CorpusValidator.load(file: file, bytes: bytes)
            _ = try Compilation(
                corpus: corpus, inputFile: file, input: OutputFile.Artifact(of: bytes))
            Issue.record("\(file) compiled without error")
        } catch let error as DiagnosticList {
            actual = error.diagnostics.map(\.description)
        } catch let error as PlanError {
            actual = ["\(file): \(error.message)"]
        }
        #expect(actual == expected)
    }

    @Test("docs/errors.md lists every invalid corpus with its exact messages")
    func errorCatalogueIsComplete() throws {
        let catalogue = String(decoding: try readPackageFile("docs/errors.md"), as: UTF8.self)
        for name in try ValidationTests.invalidCorpora() {
            #expect(catalogue.contains("### `\(name).json`"), "\(name) has no entry")
            let expected = String(
                decoding: try readPackageFile("corpora/invalid/\(name).expected"), as: UTF8.self)
            for line in expected.split(separator: "\n") {
                #expect(catalogue.contains("\n\(line)\n"), "\(name): \(line)")
            }
        }
    }

    @Test func everyBundledCorpusIsValid() throws {
        for name in try bundledCorpusNames() {
            let bytes = try readPackageFile("corpora/\(name).json")
            #expect(throws: Never.self) { try CorpusValidator.load(file: name, bytes: bytes) }
        }
    }

    @Test func allProblemsOfACorpusAreReportedTogether() throws {
        let bytes = try readPackageFile("corpora/invalid/healthcheck-timeout.json")
        #expect(throws: DiagnosticList.self) {
            try CorpusValidator.load(file: "x.json", bytes: bytes)
        }
        do {
            _ = try CorpusValidator.load(file: "x.json", bytes: bytes)
        } catch {
            #expect(error.diagnostics.count == 3)
        }
    }

    @Test func typosGetTheClosestKnownName() {
        #expect(closestName(to: "publicpot", among: CorpusDecoder.Keys.rule.names) == "publicport")
        #expect(
            closestName(to: "virtualmachineid", among: CorpusDecoder.Keys.rule.names)
                == "virtualmachineids")
        #expect(closestName(to: "zzzzzz", among: CorpusDecoder.Keys.rule.names) == nil)
        #expect(editDistance("kitten", "sitting") == 3)
    }
}
