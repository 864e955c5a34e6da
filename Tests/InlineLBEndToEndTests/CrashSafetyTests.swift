import Foundation
import InlineLBCore
import Testing

/// `inlinelb apply` killed with SIGKILL at random moments: the output folder and the state
/// file are each always a complete version, the previous or the new one, as the manifest's
/// digests prove.
@Suite("crash safety")
struct CrashSafetyTests {
    /// What one complete output folder holds, checked file by file against its manifest.
    private struct CompleteOutput: Equatable {
        var manifest: [UInt8]
        var inputDigest: String
        var state: [UInt8]
    }

    /// The folder's manifest and state, after checking that the manifest lists exactly the
    /// files present and that each has the listed size and XXH3-64.
    private func completeOutput(_ folder: String) throws -> CompleteOutput {
        let manifest = try FileBytes.read(folder + "/manifest.json")
        let root = try JSONReader.parse(manifest)
        var listed: Set<String> = ["manifest.json"]
        for artifact in try #require(root.member("artifacts")).elements {
            let path = try #require(artifact.member("path")?.string)
            let bytes = try FileBytes.read(folder + "/" + path)
            #expect(bytes.count == artifact.member("bytes")?.integer, "\(path) size")
            #expect(
                Digest.hex(Digest.xxh3(bytes)) == artifact.member("xxh3")?.string, "\(path) digest")
            listed.insert(path)
        }
        #expect(Set(filesBelow(URL(fileURLWithPath: folder))) == listed)
        return CompleteOutput(
            manifest: manifest,
            inputDigest: try #require(root.member("input")?.member("xxh3")?.string),
            state: try FileBytes.read(folder + "/state.json"))
    }

    @Test func applyKilledAtRandomMomentsLeavesThePreviousOrTheNewVersion() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base = folder.path
        let corpora = [base + "/a.json", base + "/b.json"]
        #expect(
            try inlinelb("generate", "--rules", "3000", "--seed", "1", "-o", corpora[0]).status == 0
        )
        #expect(
            try inlinelb("generate", "--rules", "2500", "--seed", "1", "-o", corpora[1]).status == 0
        )
        let digests = try corpora.map { Digest.hex(Digest.xxh3(try FileBytes.read($0))) }
        let out = base + "/out"
        let state = base + "/state.json"
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try inlinelb("apply", corpora[0], "--state", state, "-o", out).status == 0)
        let duration = clock.now - start
        var previous = try completeOutput(out)
        var previousState = try FileBytes.read(state)

        var random = SystemRandomNumberGenerator()
        var swapped = 0
        var kept = 0
        for round in 0..<100 {
            let corpus = corpora[(round + 1) % 2]
            let process = Process()
            process.executableURL = inlinelbBinary
            process.arguments = ["apply", corpus, "--state", state, "-o", out]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let delay = Double.random(in: 0...1.2, using: &random)
            Thread.sleep(
                forTimeInterval: delay * Double(duration.components.seconds)
                    + delay * Double(duration.components.attoseconds) / 1e18)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let now = try completeOutput(out)
            let stateNow = try FileBytes.read(state)
            if now == previous {
                kept += 1
                // The folder may also have been rewritten identically: after a kill between
                // the swap and the state's replacement, the state is one version behind, and
                // the next apply of the same corpus reproduces the folder, then writes the
                // folder's own state.
                #expect(
                    stateNow == previousState || stateNow == now.state,
                    "round \(round): state ahead of the output")
            } else {
                swapped += 1
                #expect(now.inputDigest == digests[(round + 1) % 2], "round \(round)")
                // The state file is replaced after the folder: either version is complete.
                #expect(
                    stateNow == now.state || stateNow == previousState,
                    "round \(round): state file is neither version")
            }
            previous = now
            previousState = stateNow
        }
        #expect(kept > 0 && swapped > 0, "kills before and after the swap: \(kept), \(swapped)")

        // A run that completes cleans up what the killed ones left.
        #expect(try inlinelb("apply", corpora[0], "--state", state, "-o", out).status == 0)
        _ = try completeOutput(out)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: base).filter {
            $0.contains(".tmp-")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
