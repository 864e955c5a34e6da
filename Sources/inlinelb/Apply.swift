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
            just these actions) and then replaces FILE with the new state. The state
            replaced stays beside FILE as .FILE.spare, which the next apply writes over.

            Only what changed is rendered and written: an appliance whose canonical input
            (XXH3-128) matches the one in OUT's manifest keeps its files, hard-linked from the
            previous OUT, as does every other file that comes out the same.

            Only what an edit touches is read and planned: with the apply-index.bin that the
            previous apply left in OUT and the state FILE it wrote, the corpus is compared
            with the previous one entity by entity (XXH3 digests), and only the VPCs whose
            entities changed are validated, planned and rendered. An edit of the VPCs
            themselves or of the global sections, an entity that refers to another VPC, or
            --restart, --restart-with-cleanup and --rebuild compile the whole corpus; the
            output is the same either way. The line on standard error says which it was.

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
        // Claimed first, so that it is walked while the corpus compiles.
        let spare = OutputWriter.ClaimedSpare(of: output)
        let mapped = try mapInput(corpus)
        let storedBytes = try FileManager.default.fileExists(atPath: state) ? readInput(state) : nil
        if storedBytes == nil {
            printError("inlinelb: \(state) does not exist: starting from the empty state")
        }
        let restarts =
            restart.map { NetworkRestart(networkID: $0, cleanup: false) }
            + restartWithCleanup.map { NetworkRestart(networkID: $0, cleanup: true) }
        let previous = rebuild ? nil : PreviousOutput(folder: output)
        let compilation =
            try incremental(mapped, stateBytes: storedBytes, previous: previous, restarts)
            ?? full(mapped, stateBytes: storedBytes, previous: previous, restarts)
        keepUntilExit(compilation)
        // Nothing reads the corpus again: it is unmapped on another core during the writes.
        releaseInBackground(consume mapped)
        // The new state is written and made durable beside OUT's files; OUT is swapped in
        // only when it is ready, and FILE replaced once OUT is in place.
        let stateParts = compilation.stateDocument
        let stateFile = state
        let stagedState = Pending {
            Result { () throws(OutputWriter.WriteError) in
                try OutputWriter.stageFile(stateFile, withParts: stateParts)
            }
        }
        do throws(OutputWriter.WriteError) {
            do throws(OutputWriter.WriteError) {
                try OutputWriter.replaceDirectory(
                    output, with: compilation.files, listed: previous?.listedPaths, spare: spare,
                    beforeSwap: { () throws(OutputWriter.WriteError) in
                        _ = try stagedState.value.get()
                    })
            } catch {
                if case .success(let staged) = stagedState.value { staged.discard() }
                throw error
            }
            try stagedState.value.get().commit()
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

    /// The compilation of only what changed since the apply that left `previous`, or nil
    /// (saying why on standard error) when the whole corpus must be compiled.
    private func incremental(
        _ mapped: MappedFile, stateBytes: [UInt8]?, previous: PreviousOutput?,
        _ restarts: [NetworkRestart]
    ) -> Compilation? {
        guard let previous, let stateBytes, restarts.isEmpty else { return nil }
        do {
            let applied = try IncrementalApply(
                corpusFile: corpus, corpusBytes: mapped.bytes, stateBytes: stateBytes,
                previous: previous)
            let changed = applied.editedSection.map { "\($0) changed" } ?? "nothing changed"
            printError(
                "inlinelb: \(corpus): incremental apply: \(applied.replannedVPCs) of \(applied.vpcs) VPCs re-planned (\(changed))"
            )
            return applied.compilation
        } catch {
            printError("inlinelb: \(corpus): full apply: \(error.reason)")
            return nil
        }
    }

    /// The compilation of the whole corpus against the stored state.
    private func full(
        _ mapped: MappedFile, stateBytes: [UInt8]?, previous: PreviousOutput?,
        _ restarts: [NetworkRestart]
    ) throws -> Compilation {
        var stored = DeploymentState.empty
        if let stateBytes {
            do {
                stored = try DeploymentState(file: state, bytes: stateBytes)
            } catch {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                throw ExitStatus.dataError
            }
        }
        let loaded = try loadCorpora(
            [corpus], mapped: [corpus: mapped], layOut: true)[0]
        keepUntilExit(loaded)
        do {
            return try Compilation(
                corpus: loaded.corpus, inputFile: loaded.path, input: loaded.input,
                state: stored, restarts: restarts, previous: previous, layout: loaded.layout)
        } catch {
            printError("\(loaded.path): \(error.message); nothing written")
            throw ExitStatus.dataError
        }
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
