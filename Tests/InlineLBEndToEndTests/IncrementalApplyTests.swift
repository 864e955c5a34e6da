import Foundation
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

    @Test func oneChangedRuleRewritesOnlyItsAppliancesConfig() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = folder.appendingPathComponent("corpus.json").path
        let state = folder.appendingPathComponent("state.json").path
        let out = folder.appendingPathComponent("out").path
        #expect(try inlinelb("generate", "--rules", "3000", "-o", corpus).status == 0)
        let first = try inlinelb("apply", corpus, "--state", state, "-o", out)
        #expect(first.status == 0, "\(first.stderr)")
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
        #expect(Set(after.keys) == Set(before.keys))
        let rewritten = Set(after.keys.filter { after[$0] != before[$0] })
        let changedConfig = try #require(rewritten.first { $0.hasSuffix("/haproxy.cfg") })
        #expect(
            try String(contentsOfFile: out + "/" + changedConfig, encoding: .utf8)
                .contains(":8081"))
        #expect(
            rewritten
                == [changedConfig, "actions.jsonl", "manifest.json", "state.json", "topology.json"])
        #expect(second.stderr.contains("5 files written, \(after.count - 5) unchanged files kept"))

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
