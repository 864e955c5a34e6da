import ArgumentParser
import Foundation
import InlineLBCompiler
import InlineLBCore

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a corpus incrementally against a stored state and print the actions.",
        discussion: """
            Reads the state FILE (a state.json written by an earlier compile or apply; a missing
            file is the empty state), plans the actions that take the deployment to CORPUS,
            prints them, replaces OUT atomically with the new artifacts (actions.jsonl holds
            just these actions) and then replaces FILE with the new state.

            Only what changed is rendered and written: an appliance whose canonical input
            (XXH3-128) matches the one in OUT's manifest keeps its files, hard-linked from the
            previous OUT, as does every other file that comes out the same.

            Examples:
              inlinelb apply corpora/ui-flow.json --state state.json -o out/ui-flow
              inlinelb apply corpora/ui-flow.json --state state.json -o out/ui-flow --restart tier-web
              inlinelb apply corpora/ui-flow.json --state state.json -o out/ui-flow --restart-with-cleanup tier-web
            """)

    @Argument(help: "The corpus file (inlinelb-corpus/1 JSON).")
    var corpus: String

    @Option(help: "The stored state file, read and then replaced.")
    var state: String

    @Option(name: .shortAndLong, help: "Output folder (replaced as a whole).")
    var output: String

    @Option(help: "Restart this network (tier id) in place after applying; repeatable.")
    var restart: [String] = []

    @Option(
        help: "Restart this network with cleanup: destroy and redeploy its appliance; repeatable.")
    var restartWithCleanup: [String] = []

    @Option(help: "Action listing style: text or json (one action a line).")
    var format: OutputFormat = .text

    @Flag(help: "Render and write every file, even those unchanged since the previous OUT.")
    var rebuild = false

    func run() throws {
        guard let loaded = try loadCorpora([corpus]).first else { return }
        var stored = DeploymentState.empty
        if FileManager.default.fileExists(atPath: state) {
            do {
                stored = try DeploymentState(file: state, bytes: try readInput(state))
            } catch let error as DiagnosticList {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                throw ExitStatus.dataError
            }
        } else {
            printError("inlinelb: \(state) does not exist: starting from the empty state")
        }
        let restarts =
            restart.map { NetworkRestart(networkID: $0, cleanup: false) }
            + restartWithCleanup.map { NetworkRestart(networkID: $0, cleanup: true) }
        let compilation: Compilation
        do {
            compilation = try Compilation(
                corpus: loaded.corpus, inputFile: loaded.path, inputBytes: loaded.bytes,
                state: stored,
                restarts: restarts,
                previous: rebuild ? nil : PreviousOutput(folder: output))
        } catch {
            printError("\(loaded.path): \(error.message); nothing written")
            throw ExitStatus.dataError
        }
        do {
            try OutputWriter.replaceDirectory(output, with: compilation.files)
            let newState = compilation.files.first { $0.path == "state.json" }!.bytes
            try OutputWriter.replaceFile(state, with: newState)
        } catch {
            printError("inlinelb: \(error)")
            throw ExitStatus.cannotCreate
        }
        printActions(compilation.plan.actions)
        let written = compilation.files.count - compilation.reusedFiles
        printError(
            "inlinelb: \(output): \(written) files written, \(compilation.reusedFiles) unchanged files kept"
        )
    }

    private func printActions(_ actions: [Action]) {
        switch format {
        case .json:
            for (index, action) in actions.enumerated() {
                var out = ByteWriter()
                DocumentRenderers.writeActionLine(action, sequence: index + 1, to: &out)
                print(out.string)
            }
        case .text:
            if actions.isEmpty {
                print("no actions: the deployment already matches \(corpus)")
                return
            }
            for (index, action) in actions.enumerated() {
                var parts = [
                    pad("\(index + 1)", 4), pad(action.kind.rawValue, 22, left: true),
                    action.appliance,
                ]
                if let publicIP = action.publicIP { parts.append("public \(publicIP)") }
                if let secondary = action.secondaryIP { parts.append("secondary \(secondary)") }
                if let guest = action.guestIP { parts.append("guest \(guest)") }
                if let linkLocal = action.linkLocalIP { parts.append("link-local \(linkLocal)") }
                if let count = action.ruleCount { parts.append("\(count) rules") }
                parts.append("(\(action.reason))")
                print(parts.joined(separator: "  "))
            }
        }
    }
}
