import ArgumentParser
import Foundation
import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator
import InlineLBVerify

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Compile corpora, simulate probing traffic through the artifacts, check it against the corpus.",
        discussion: """
            For each corpus: compiles into a temporary folder, simulates the default probe
            (every public address on every rule port and on ports without rules, many clients)
            reading only the artifacts, and checks every flow against what the corpus intends:
            deliveries only to the running VMs of the rule's public address and port, within the
            tier ACL and cidrlist, replies from the address the client used, round-robin order,
            source-hash placement and sticky clients staying put. Exits 0 only when every check
            holds (1 when any is violated, 65 for an invalid corpus).

            Examples:
              inlinelb verify corpora/*.json
              inlinelb verify corpora/ui-flow.json --trace 2
            """)

    @Argument(help: "Corpus files (inlinelb-corpus/1 JSON).")
    var corpora: [String]

    @Option(help: "Print the hop-by-hop trace of the first N flows of each corpus.")
    var trace = 0

    @Option(help: "Summary style: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let loaded = try loadCorpora(corpora)
        var failed = false
        var rows: [JSONOutput] = []
        if format == .text {
            print(
                "\(pad("corpus", 26, left: true)) \(pad("rules", 6)) \(pad("flows", 7)) \(pad("delivered", 10)) \(pad("violations", 11)) \(pad("ms", 8))"
            )
        }
        for item in loaded {
            let clock = ContinuousClock()
            let start = clock.now
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "inlinelb-verify-\(getpid())-\(PathName.stem(of: item.path))"
            ).path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let verification: CorpusVerification
            do {
                try? FileManager.default.removeItem(atPath: folder)
                // A throwaway folder: not fsynced, and the compilation is released before
                // the simulation starts.
                try OutputWriter.replaceDirectory(
                    folder,
                    with: try Compilation(
                        corpus: item.corpus, inputFile: item.path, input: item.input
                    ).files, durable: false)
                let progress = Progress(corpora: 1, totalBytes: item.input.bytes)
                let name = PathName.stem(of: item.path)
                defer { progress.clear() }
                verification = try CorpusVerification(
                    corpus: item.corpus, folder: folder, tracedFlows: trace, keptResults: trace
                ) { checked, total in
                    progress.show("\(name): flows simulated and checked", done: checked, of: total)
                }
            } catch let error as PlanError {
                printError("\(item.path): \(error.message)")
                throw ExitStatus.dataError
            } catch {
                printError("inlinelb: \(item.path): \(error)")
                throw ExitStatus.cannotCreate
            }
            let milliseconds = seconds(clock.now - start) * 1000
            failed = failed || !verification.violations.isEmpty
            switch format {
            case .text:
                print(
                    "\(pad(PathName.stem(of: item.path), 26, left: true)) \(pad("\(verification.ruleCount)", 6)) \(pad("\(verification.flowCount)", 7)) \(pad("\(verification.deliveredCount)", 10)) \(pad("\(verification.violations.count)", 11)) \(pad(String(format: "%.1f", milliseconds), 8))"
                )
                for violation in verification.violations.prefix(50) {
                    print("  violation: \(violation)")
                }
                if verification.violations.count > 50 {
                    print("  ... \(verification.violations.count - 50) more")
                }
                if trace > 0 {
                    printReport(
                        Array(verification.results.prefix(trace)), trace: trace, format: .text)
                }
            case .json:
                rows.append(
                    .object([
                        ("corpus", .string(PathName.stem(of: item.path))),
                        ("rules", .int(verification.ruleCount)),
                        ("flows", .int(verification.flowCount)),
                        ("delivered", .int(verification.deliveredCount)),
                        (
                            "violations",
                            .array(verification.violations.map { .string($0.description) })
                        ),
                    ]))
            }
        }
        if format == .json {
            print(String(decoding: JSONOutput.array(rows).document, as: UTF8.self), terminator: "")
        }
        if failed { throw ExitCode(1) }
    }
}
