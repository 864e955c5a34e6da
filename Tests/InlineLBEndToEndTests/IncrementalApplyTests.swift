import Foundation
import InlineLBCore
import Testing

@Suite("incremental apply")
struct IncrementalApplyTests {
    /// The inode of every file below `folder`, by relative path.
    private func inodes(_ folder: String) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for path in filesBelow(URL(fileURLWithPath: folder)) {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + path)
            result[path] = attributes[.systemFileNumber] as? Int
        }
        return result
    }

    /// A generated corpus of 3,000 rules in `folder`, applied once: its path, the state
    /// file's and the output folder's.
    private func appliedCorpus(in folder: URL) throws -> (
        corpus: String, state: String, out: String
    ) {
        let corpus = folder.appendingPathComponent("corpus.json").path
        let state = folder.appendingPathComponent("state.json").path
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("generate", "--rules", "3000", "-o", corpus).status == 0)
        let first = try inlinelb("apply", corpus, "--state", state, "-o", out)
        #expect(first.status == 0, "\(first.stderr)")
        return (corpus, state, out)
    }

    @Test func oneChangedRuleRewritesOnlyItsAppliancesConfig() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (corpus, state, out) = try appliedCorpus(in: folder)
        let before = try inodes(out)
        #expect(before.keys.filter { $0.hasSuffix("/haproxy.cfg") }.count > 2)

        // Move rule lb-7 to another backend port: only its appliance's haproxy.cfg changes.
        var lines = try String(contentsOfFile: corpus, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        let index = try #require(lines.firstIndex { $0.contains("{\"id\": \"lb-7\",") })
        lines[index] = lines[index].replacingOccurrences(
            of: "\"privateport\": 8080", with: "\"privateport\": 8081")
        try lines.joined(separator: "\n").write(toFile: corpus, atomically: true, encoding: .utf8)
        let second = try inlinelb("apply", corpus, "--state", state, "-o", out)
        #expect(second.status == 0, "\(second.stderr)")
        let after = try inodes(out)
        // One page of the apply index changed, so its name (its digest) did.
        let pages = { (files: [String: Int]) in
            Set(files.keys.filter { $0.hasPrefix(".apply-index/") })
        }
        let newPages = pages(after).subtracting(pages(before))
        #expect(newPages.count == 1 && pages(before).subtracting(pages(after)).count == 1)
        #expect(
            Set(after.keys).subtracting(pages(after)) == Set(before.keys).subtracting(pages(before))
        )
        let rewritten = Set(after.keys.filter { after[$0] != before[$0] })
        let changedConfig = try #require(rewritten.first { $0.hasSuffix("/haproxy.cfg") })
        #expect(
            try String(contentsOfFile: out + "/" + changedConfig, encoding: .utf8)
                .contains(":8081"))
        // The topology does not mention ports, so it comes out the same and is kept too.
        #expect(
            rewritten
                == Set([
                    changedConfig, "actions.jsonl", "apply-index.bin", "manifest.json",
                    "state.json",
                ]).union(newPages))
        #expect(second.stderr.contains("incremental apply: 1 of 3 VPCs re-planned"))
        #expect(second.stderr.contains("6 files written, \(after.count - 6) unchanged files kept"))

        // The kept files are byte for byte what a full rebuild writes.
        let rebuilt = folder.appendingPathComponent("rebuilt").path
        let stateCopy = folder.appendingPathComponent("state-copy.json").path
        try FileManager.default.copyItem(atPath: state, toPath: stateCopy)
        let full = try inlinelb(
            "apply", corpus, "--state", stateCopy, "-o", rebuilt, "--rebuild")
        #expect(full.status == 0, "\(full.stderr)")
        for path in after.keys where path != "actions.jsonl" && path != "manifest.json" {
            let kept = try Data(contentsOf: URL(fileURLWithPath: out + "/" + path))
            let fresh = try Data(contentsOf: URL(fileURLWithPath: rebuilt + "/" + path))
            #expect(kept == fresh, "\(path)")
        }
    }

    /// One edit of a generated corpus (one entity a line) and what the next apply must say.
    private struct Edit {
        var name: String
        /// A fragment of the apply's standard error: how it was compiled.
        var mode: String
        var status: Int32 = 0
        var change: (inout [String]) throws -> Void
    }

    /// The position of the line holding `fragment`.
    private func line(_ lines: [String], _ fragment: String) throws -> Int {
        try #require(lines.firstIndex { $0.contains(fragment) }, "\(fragment)")
    }

    /// Every regular file below `folder` with its bytes.
    private func contents(_ folder: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for path in filesBelow(URL(fileURLWithPath: folder)) {
            result[path] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + path))
        }
        return result
    }

    private var edits: [Edit] {
        func replace(_ id: String, _ old: String, _ new: String) -> (inout [String]) throws -> Void
        {
            { lines in
                let index = try self.line(lines, "{\"id\": \"\(id)\",")
                #expect(lines[index].contains(old), "\(id) holds \(old)")
                lines[index] = lines[index].replacingOccurrences(of: old, with: new)
            }
        }
        func insert(after id: String, _ old: String, _ new: String, _ port: String)
            -> (inout [String]) throws -> Void
        {
            { lines in
                let index = try self.line(lines, "{\"id\": \"\(id)\",")
                lines.insert(
                    lines[index].replacingOccurrences(of: old, with: new)
                        .replacingOccurrences(
                            of: "\"publicport\": ", with: "\"publicport\": \(port)"),
                    at: index + 1)
            }
        }
        return [
            Edit(
                name: "a backend port", mode: "incremental apply: 1 of 3 VPCs",
                change: replace("lb-7", "\"privateport\": 8080", "\"privateport\": 8081")),
            Edit(name: "nothing", mode: "incremental apply: 0 of 3 VPCs") { _ in },
            Edit(name: "a rule removed", mode: "incremental apply: 1 of 3 VPCs") { lines in
                lines.remove(at: try self.line(lines, "{\"id\": \"lb-9\","))
            },
            Edit(
                name: "a rule added", mode: "incremental apply: 1 of 3 VPCs",
                change: insert(after: "lb-20", "\"lb-20\"", "\"lb-new\"", "4")),
            Edit(name: "the last rule removed", mode: "incremental apply: 1 of 3 VPCs") { lines in
                let last = try #require(lines.lastIndex { $0.hasPrefix("{\"id\": \"lb-") })
                lines.remove(at: last)
                lines[last - 1].removeLast()
            },
            Edit(
                name: "a rule revoked", mode: "incremental apply: 1 of 3 VPCs",
                change: replace("lb-30", "\"lb-30\",", "\"lb-30\", \"state\": \"Revoke\",")),
            Edit(
                name: "a VM readdressed", mode: "incremental apply: 1 of 3 VPCs",
                change: replace("vm-1-0-3", "\"10.0.8.3\"", "\"10.0.8.200\"")),
            Edit(
                name: "a VM added", mode: "incremental apply: 1 of 3 VPCs",
                change: insert(
                    after: "vm-2-0-1",
                    "\"vm-2-0-1\", \"networkid\": \"t-2-0\", \"ipaddress\": \"10.0.8.1\"",
                    "\"vm-extra\", \"networkid\": \"t-2-0\", \"ipaddress\": \"10.0.9.1\"", "")),
            Edit(
                name: "a tier's gateway", mode: "incremental apply: 1 of 3 VPCs",
                change: replace("t-0-1", "\"10.0.16.1\"", "\"10.0.16.9\"")),
            Edit(
                name: "white space in an element", mode: "incremental apply: 1 of 3 VPCs",
                change: replace("lb-50", "{\"id\": \"lb-50\",", "{\"id\":   \"lb-50\",")),
            Edit(name: "every rule of a public IP", mode: "incremental apply: 1 of 3 VPCs") {
                lines in
                lines.removeAll { $0.contains("\"publicipid\": \"ip-11\",") }
            },
            Edit(
                name: "rules in two VPCs", mode: "incremental apply: 3 of 3 VPCs",
                change: { lines in
                    try replace("lb-40", "\"privateport\": 8080", "\"privateport\": 8082")(&lines)
                    try replace("lb-2900", "\"privateport\": 8080", "\"privateport\": 8082")(&lines)
                }),
            Edit(
                name: "a rule id of another VPC",
                mode: "full apply: a new id may be taken in another VPC", status: 65,
                change: insert(after: "lb-21", "\"lb-21\"", "\"lb-2500\"", "5")),
            Edit(
                name: "a public address of another VPC",
                mode: "full apply: a new public address may be taken in another VPC", status: 65,
                change: insert(
                    after: "ip-1", "\"ip-1\", \"vpcid\": \"vpc-0\", \"ipaddress\": \"100.64.0.2\"",
                    "\"ip-new\", \"vpcid\": \"vpc-0\", \"ipaddress\": \"100.64.0.151\"", "")),
            Edit(
                name: "a rule moved to another VPC's tier",
                mode: "full apply: an edited loadbalancerrules element refers to another VPC",
                status: 65, change: replace("lb-70", "\"t-0-0\"", "\"t-1-0\"")),
            Edit(
                name: "a VPC renamed", mode: "full apply: the edit changes the VPCs",
                change: replace("vpc-1", "\"cidr\"", "\"name\": \"renamed\", \"cidr\"")),
            Edit(
                name: "the corpus renamed", mode: "full apply: the edit reaches beyond",
                change: { lines in
                    let index = try self.line(lines, "\"name\": \"generated-")
                    lines[index] = lines[index].replacingOccurrences(
                        of: "generated", with: "edited")
                }),
        ]
    }

    @Test func everyKindOfEditAppliesIncrementallyExactlyAsAFullApply() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (corpus, state, out) = try appliedCorpus(in: folder)
        let fullState = folder.appendingPathComponent("full-state.json").path
        let fullOut = folder.appendingPathComponent("full").path
        for edit in edits {
            let before = try String(contentsOfFile: corpus, encoding: .utf8)
            var lines = before.split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init)
            try edit.change(&lines)
            try lines.joined(separator: "\n").write(
                toFile: corpus, atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: fullState)
            try FileManager.default.copyItem(atPath: state, toPath: fullState)
            let incremental = try inlinelb("apply", corpus, "--state", state, "-o", out)
            let full = try inlinelb(
                "apply", corpus, "--state", fullState, "-o", fullOut, "--rebuild")
            #expect(incremental.status == edit.status, "\(edit.name): \(incremental.stderr)")
            #expect(full.status == edit.status, "\(edit.name): \(full.stderr)")
            #expect(incremental.stderr.contains(edit.mode), "\(edit.name): \(incremental.stderr)")
            #expect(incremental.stdout == full.stdout, "\(edit.name)")
            #expect(try FileBytes.read(state) == FileBytes.read(fullState), "\(edit.name)")
            if edit.status == 0 {
                #expect(try contents(out) == contents(fullOut), "\(edit.name)")
            } else {
                try before.write(toFile: corpus, atomically: true, encoding: .utf8)
            }
        }
    }

    /// A file of a VPC the edit does not touch, gone from OUT or changed in size: the apply
    /// compiles the whole corpus, which writes the file again.
    @Test(arguments: [true, false])
    func aVPCFileGoneOrResizedMakesTheApplyFull(removing: Bool) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (corpus, state, out) = try appliedCorpus(in: folder)
        let config = try #require(
            filesBelow(URL(fileURLWithPath: out)).first {
                $0.hasPrefix("vpc-2/") && $0.hasSuffix("/haproxy.cfg")
            })
        let original = try FileBytes.read(out + "/" + config)
        if removing {
            try FileManager.default.removeItem(atPath: out + "/" + config)
        } else {
            try Data("resized".utf8).write(to: URL(fileURLWithPath: out + "/" + config))
        }
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        let edited = try #require(text.range(of: "\"privateport\": 8080"))
        try text.replacingCharacters(in: edited, with: "\"privateport\": 8081").write(
            toFile: corpus, atomically: true, encoding: .utf8)
        let applied = try inlinelb("apply", corpus, "--state", state, "-o", out)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stderr.contains("full apply: the previous output is missing files"))
        #expect(try FileBytes.read(out + "/" + config) == original)
    }

    @Test func aFileChangedBehindInlinelbsBackIsRenderedAgain() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("compile", "corpora/two-tiers.json", "-o", out).status == 0)
        let config = try #require(
            filesBelow(URL(fileURLWithPath: out)).first { $0.hasSuffix("/haproxy.cfg") })
        let original = try Data(contentsOf: URL(fileURLWithPath: out + "/" + config))
        try Data("truncated".utf8).write(to: URL(fileURLWithPath: out + "/" + config))
        #expect(try inlinelb("compile", "corpora/two-tiers.json", "-o", out).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/" + config)) == original)
    }
}
