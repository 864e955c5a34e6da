import ArgumentParser
import InlineLBCompiler
import InlineLBCore

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile corpora into deployment artifacts from an empty state.",
        discussion: """
            With one corpus, OUT holds its artifacts; with several, OUT/<corpus file stem>/
            holds each and OUT/manifest.json lists them. OUT is replaced atomically: a failed
            run leaves the previous OUT as it was. Files that come out the same as in the
            previous OUT (found through its manifest's digests) are hard-linked, not rendered
            or written again.

            Examples:
              inlinelb compile corpora/ui-flow.json -o out/ui-flow
              inlinelb compile corpora/*.json -o out --format json
            """)

    @Argument(help: "Corpus files (inlinelb-corpus/1 JSON).")
    var corpora: [String]

    @Option(name: .shortAndLong, help: "Output folder (replaced as a whole).")
    var output: String

    @Option(help: "Summary style: text or json.")
    var format: OutputFormat = .text

    @Flag(help: "Render and write every file, even those unchanged since the previous OUT.")
    var rebuild = false

    func validate() throws {
        let stems = corpora.map { PathName.stem(of: $0) }
        if corpora.count > 1, Set(stems).count != stems.count {
            throw ValidationError("corpus file names must differ: each becomes a folder of OUT")
        }
    }

    func run() throws {
        // Claimed first, so that it is walked while the corpora compile.
        let spare = OutputWriter.ClaimedSpare(of: output)
        let loaded = try loadCorpora(corpora)
        keepUntilExit(loaded)
        var files: [OutputFile] = []
        var rows: [SummaryRow] = []
        // What a single corpus's previous output holds, so that replacing it needs no walk.
        var listed: [String]?
        let clock = ContinuousClock()
        for item in loaded {
            let start = clock.now
            let compilation: Compilation
            let prefix = loaded.count == 1 ? "" : PathName.stem(of: item.path) + "/"
            let previous = rebuild ? nil : PreviousOutput(folder: output + "/" + prefix)
            if loaded.count == 1 { listed = previous?.listedPaths }
            do {
                compilation = try Compilation(
                    corpus: item.corpus, inputFile: item.path, input: item.input,
                    previous: previous)
            } catch {
                printError("\(item.path): \(error.message); nothing written")
                throw ExitStatus.dataError
            }
            keepUntilExit(compilation)
            files += compilation.files.map { file in
                var file = file
                file.path = prefix + file.path
                return file
            }
            rows.append(
                SummaryRow(
                    corpus: PathName.stem(of: item.path),
                    folder: output + (prefix.isEmpty ? "" : "/" + prefix.dropLast()),
                    counts: compilation.counts, seconds: item.seconds + seconds(clock.now - start)))
        }
        if loaded.count > 1 {
            files.append(OutputFile(path: "manifest.json", bytes: batchManifest(rows)))
        }
        do {
            try OutputWriter.replaceDirectory(output, with: files, listed: listed, spare: spare)
        } catch {
            printError("inlinelb: \(error)")
            throw ExitStatus.cannotCreate
        }
        printSummary(rows, format: format)
    }

    private func batchManifest(_ rows: [SummaryRow]) -> [UInt8] {
        JSONOutput.object([
            ("format", .string("inlinelb-batch/1")),
            ("tool", .string("inlinelb \(inlinelbVersion)")),
            (
                "corpora",
                .array(
                    rows.map {
                        .object([
                            ("name", .string($0.corpus)),
                            ("manifest", .string($0.corpus + "/manifest.json")),
                        ])
                    })
            ),
        ]).document
    }
}

/// One line of a compile summary.
struct SummaryRow {
    var corpus: String
    var folder: String
    var counts: CompilationCounts
    var seconds: Double
}

func printSummary(_ rows: [SummaryRow], format: OutputFormat) {
    switch format {
    case .json:
        let document = JSONOutput.array(
            rows.map { row in
                .object([
                    ("corpus", .string(row.corpus)), ("output", .string(row.folder)),
                    ("vpcs", .int(row.counts.vpcs)), ("tiers", .int(row.counts.tiers)),
                    ("appliances", .int(row.counts.appliances)),
                    ("publicips", .int(row.counts.publicIPs)),
                    ("mappedpublicips", .int(row.counts.mappedPublicIPs)),
                    ("rules", .int(row.counts.rules)),
                    ("activerules", .int(row.counts.activeRules)),
                    ("actions", .int(row.counts.actions)),
                    ("artifacts", .int(row.counts.artifacts)), ("bytes", .int(row.counts.bytes)),
                    ("milliseconds", .int(Int((row.seconds * 1000).rounded()))),
                ])
            })
        print(String(decoding: document.document, as: UTF8.self), terminator: "")
    case .text:
        let header = [
            pad("corpus", 26, left: true), pad("VPCs", 5), pad("tiers", 6), pad("appl.", 6),
            pad("pub.IPs", 8),
            pad("mapped", 7), pad("rules", 7), pad("active", 7), pad("actions", 8), pad("files", 6),
            pad("ms", 8),
        ]
        print(header.joined(separator: " "))
        for row in rows {
            let counts = row.counts
            let cells = [
                pad(row.corpus, 26, left: true), pad("\(counts.vpcs)", 5),
                pad("\(counts.tiers)", 6),
                pad("\(counts.appliances)", 6), pad("\(counts.publicIPs)", 8),
                pad("\(counts.mappedPublicIPs)", 7),
                pad("\(counts.rules)", 7), pad("\(counts.activeRules)", 7),
                pad("\(counts.actions)", 8),
                pad("\(counts.artifacts)", 6), pad(String(format: "%.2f", row.seconds * 1000), 8),
            ]
            print(cells.joined(separator: " "))
        }
    }
}
