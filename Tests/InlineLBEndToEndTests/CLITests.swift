import Foundation
import InlineLBCore
import Testing

@Suite("inlinelb command line")
struct CLITests {
    @Test func compileWritesEveryArtifactOfEveryCorpus() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let corpora = try bundledCorpora()
        let result = try run(
            inlinelbBinary.path, ["compile"] + corpora + ["-o", out], in: packageRoot)
        #expect(result.status == 0, "\(result.stderr)")
        let files = filesBelow(URL(fileURLWithPath: out))
        #expect(files.contains("manifest.json"))
        for corpus in corpora {
            let name = URL(fileURLWithPath: corpus).deletingPathExtension().lastPathComponent
            for artifact in ["manifest.json", "topology.json", "actions.jsonl", "state.json"] {
                #expect(files.contains("\(name)/\(artifact)"), "\(name)/\(artifact)")
            }
            #expect(files.contains { $0.hasPrefix(name + "/") && $0.hasSuffix("/haproxy.cfg") })
            #expect(files.contains { $0.hasPrefix(name + "/") && $0.hasSuffix("/router.iptables") })
            #expect(result.stdout.contains(name))
        }
    }

    @Test func invalidInputExits65AndLeavesThePreviousOutputIntact() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("compile", "corpora/ui-flow.json", "-o", out).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))
        let failed = try inlinelb("compile", "corpora/invalid/unknown-field.json", "-o", out)
        #expect(failed.status == 65)
        #expect(
            failed.stderr.contains(
                "corpora/invalid/unknown-field.json:104:20: loadbalancerrules[0].publicpot"))
        #expect(failed.stderr.contains("did you mean \"publicport\"?"))
        let after = try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))
        #expect(before == after)
        #expect(filesBelow(folder).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test func aMissingInputExits66AndAnUnwritableOutputExits73() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try inlinelb("validate", "corpora/no-such.json").status == 66)
        let precious = folder.appendingPathComponent("precious")
        try FileManager.default.createDirectory(at: precious, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: precious.appendingPathComponent("notes.txt"))
        let refused = try inlinelb("compile", "corpora/ui-flow.json", "-o", precious.path)
        #expect(refused.status == 73)
        #expect(refused.stderr.contains("holds no manifest.json"))
        #expect(filesBelow(precious) == ["notes.txt"])
        // A hidden file is data too; an empty folder is taken.
        let hidden = folder.appendingPathComponent("hidden")
        try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: hidden.appendingPathComponent(".x"))
        #expect(try inlinelb("compile", "corpora/ui-flow.json", "-o", hidden.path).status == 73)
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(try inlinelb("compile", "corpora/ui-flow.json", "-o", empty.path).status == 0)
        #expect(filesBelow(empty).contains("manifest.json"))
    }

    /// An apply whose state file cannot be written changes nothing: OUT is swapped in only
    /// once the new state is durable beside the old one.
    @Test func anApplyWhoseStateCannotBeWrittenLeavesTheOutputAsItWas() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let state = folder.appendingPathComponent("state.json").path
        #expect(
            try inlinelb("apply", "corpora/ui-flow.json", "--state", state, "-o", out).status == 0)
        let before = try FileBytes.read(out + "/manifest.json")
        let unwritable = folder.appendingPathComponent("no-such-folder/state.json").path
        let refused = try inlinelb(
            "apply", "corpora/two-tiers.json", "--state", unwritable, "-o", out)
        #expect(refused.status == 73)
        #expect(refused.stderr.contains("no-such-folder/state.json.tmp-"))
        #expect(try FileBytes.read(out + "/manifest.json") == before)
        #expect(filesBelow(folder).allSatisfy { !$0.contains(".tmp-") })
    }

    /// A one-character output name (Foundation's path methods trap on one) and a corpus
    /// read from a pipe (which cannot be mapped).
    @Test func aShortOutputNameAndAPipedCorpusWork() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = packageRoot.appendingPathComponent("corpora/ui-flow.json").path
        let compiled = try run(inlinelbBinary.path, ["compile", corpus, "-o", "o"], in: folder)
        #expect(compiled.status == 0, "\(compiled.stderr)")
        #expect(filesBelow(folder.appendingPathComponent("o")).contains("manifest.json"))
        let applied = try run(
            inlinelbBinary.path, ["apply", "/dev/stdin", "--state", "s.json", "-o", "p"],
            input: try FileBytes.read(corpus), in: folder)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("deployAppliance"))
    }

    @Test func validateReportsEveryInvalidCorpus() throws {
        let result = try inlinelb(
            "validate", "corpora/ui-flow.json", "corpora/invalid/udp-protocol.json",
            "corpora/invalid/stats-port.json")
        #expect(result.status == 65)
        #expect(result.stderr.contains("HAProxy does not support UDP"))
        #expect(result.stderr.contains("is the load balancer's stats port"))
    }

    @Test func outputIsByteIdenticalAcrossRuns() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = folder.appendingPathComponent("a").path
        let second = folder.appendingPathComponent("b").path
        #expect(
            try inlinelb("compile", "corpora/algorithms-and-stickiness.json", "-o", first).status
                == 0)
        #expect(
            try inlinelb("compile", "corpora/algorithms-and-stickiness.json", "-o", second).status
                == 0)
        let files = filesBelow(URL(fileURLWithPath: first))
        #expect(files == filesBelow(URL(fileURLWithPath: second)))
        for file in files {
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: first + "/" + file))
                    == Data(contentsOf: URL(fileURLWithPath: second + "/" + file)), "\(file)")
        }
    }

    @Test func applyPrintsOnlyTheDeltaAndUpdatesTheState() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = folder.appendingPathComponent("state.json").path
        let out = folder.appendingPathComponent("out").path
        let first = try inlinelb(
            "apply", "corpora/ui-flow.json", "--state", state, "-o", out, "--format", "json")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("starting from the empty state"))
        #expect(first.stdout.split(separator: "\n").count == 5)
        #expect(first.stdout.contains(#""action":"deployAppliance""#))
        let again = try inlinelb("apply", "corpora/ui-flow.json", "--state", state, "-o", out)
        #expect(again.status == 0)
        #expect(again.stdout.contains("no actions"))
        let restart = try inlinelb(
            "apply", "corpora/ui-flow.json", "--state", state, "-o", out, "--restart-with-cleanup",
            "tier-web")
        #expect(restart.status == 0)
        #expect(restart.stdout.contains("destroyAppliance"))
        #expect(restart.stdout.contains("b-2-VM"))
        let actions = try String(contentsOfFile: out + "/actions.jsonl", encoding: .utf8)
        #expect(actions.contains(#""appliance":"b-2-VM""#))
        let stored = try String(contentsOfFile: state, encoding: .utf8)
        #expect(stored.contains(#""name": "b-2-VM""#))
        let unknown = try inlinelb(
            "apply", "corpora/ui-flow.json", "--state", state, "-o", out, "--restart", "tier-x")
        #expect(unknown.status == 65)
        #expect(try String(contentsOfFile: state, encoding: .utf8) == stored)
    }

    @Test func helpShowsExamplesAndExitCodes() throws {
        let help = try inlinelb("--help")
        #expect(help.stdout.contains("65  invalid corpus"))
        let compileHelp = try inlinelb("compile", "--help")
        #expect(compileHelp.stdout.contains("inlinelb compile corpora/ui-flow.json -o out/ui-flow"))
    }

    @Test func verifyPassesOnEveryBundledCorpus() throws {
        let result = try run(
            inlinelbBinary.path, ["verify"] + (try bundledCorpora()), in: packageRoot)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("violations"))
        #expect(!result.stdout.contains("violation:"))
    }

    @Test func simulateReadsAFolderAndATrafficFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("compile", "corpora/shared-appliance.json", "-o", out).status == 0)
        let traffic = folder.appendingPathComponent("traffic.json")
        try Data(
            #"{"format": "inlinelb-traffic/1", "flows": [{"target": "203.0.113.11:80", "count": 6, "clients": 2}]}"#
                .utf8
        ).write(to: traffic)
        let result = try inlinelb("simulate", out, "--traffic", traffic.path, "--trace", "1")
        #expect(result.status == 0, "\(result.stderr)")
        let line =
            result.stdout.split(separator: "\n").first { $0.hasPrefix("203.0.113.11:80 ") } ?? ""
        #expect(line.hasSuffix(" 6 flows  vm-1 ×2, vm-2 ×2, vm-3 ×2"), "\(result.stdout)")
        #expect(
            result.stdout.contains(
                "router vpc-1 nat PREROUTING: DNAT 203.0.113.11:80 -> 10.1.1.3:80"))
        let json = try inlinelb("simulate", out, "--format", "json")
        #expect(json.stdout.contains(#""target": "203.0.113.11:80""#))
    }

    @Test func simulateReportsUnmodelledDirectivesWithTheirLine() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("compile", "corpora/ui-flow.json", "-o", out).status == 0)
        let config = out + "/vpc-1/tier-web/b-1-VM/haproxy.cfg"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(
            of: "\tbalance roundrobin\n", with: "\tbalance roundrobin\n\tcompression algo gzip\n"
        )
        .write(toFile: config, atomically: true, encoding: .utf8)
        let result = try inlinelb("simulate", out)
        #expect(result.status == 65)
        #expect(result.stderr.contains("haproxy.cfg:35: unmodelled directive 'compression'"))
    }

    /// util-linux `script`, which runs a command on a pseudo-terminal.
    static let script = ["/usr/bin/script", "/bin/script"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(
        .enabled(if: script != nil, "util-linux script is missing: no pseudo-terminal to test on"))
    func progressLinesAppearOnATerminalOnly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        let binary = inlinelbBinary.path
        let onTerminal = try run(
            Self.script!,
            [
                "-qec",
                "\(binary) compile corpora/ui-flow.json -o \(out) && \(binary) verify corpora/ui-flow.json",
                "/dev/null",
            ], in: packageRoot)
        #expect(onTerminal.status == 0, "\(onTerminal.stdout)")
        let redraw = "\r\u{1B}[K["
        #expect(onTerminal.stdout.contains(redraw + "0/1 corpora, 0 rules, "))
        #expect(onTerminal.stdout.contains("] reading and validating corpora/ui-flow.json"))
        #expect(onTerminal.stdout.contains(redraw + "ui-flow: flows simulated and checked: "))
        #expect(onTerminal.stdout.contains("32 of 32]"))

        let piped = try inlinelb("verify", "corpora/ui-flow.json")
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains("\u{1B}[K") && !piped.stdout.contains("\u{1B}[K"))
    }
}
