import Foundation
import InlineLBCore
import Testing

@testable import InlineLBCompiler

/// The pieces of an incremental apply: the corpus layout, the edit found against it, the
/// apply index on disk and the recycled staging folder.
@Suite("Incremental apply pieces")
struct IncrementalPiecesTests {
    /// A generated corpus of three VPCs, one entity a line.
    static let corpus = String(decoding: CorpusGenerator(rules: 3000).generate(), as: UTF8.self)

    /// `corpus` with the line holding `fragment` changed by `change` (removed when nil).
    static func edited(_ fragment: String, _ change: ((String) -> String)?) throws -> [UInt8] {
        var lines = corpus.split(separator: "\n", omittingEmptySubsequences: false).map(
            String.init)
        let index = try #require(lines.firstIndex { $0.contains(fragment) })
        if let change { lines[index] = change(lines[index]) } else { lines.remove(at: index) }
        return Array(lines.joined(separator: "\n").utf8)
    }

    static func layout(_ bytes: [UInt8]) throws -> CorpusLayout {
        try #require(try CorpusLayout.load(file: "c.json", bytes: bytes).layout)
    }

    /// The edit found against the old layout leaves the layout a full read of the new file
    /// gives, and its scope is the VPC the edit touched.
    @Test(arguments: [
        ("\"lb-7\",", "\"privateport\": 8080", "\"privateport\": 9090", [0]),
        ("\"lb-1500\",", "\"lb-1500\",", "\"lb-1500\", \"state\": \"Revoke\",", [1]),
        ("\"vm-2-0-3\",", "\"10.0.8.3\"", "\"10.0.8.99\"", [2]),
        ("\"lb-2999\",", "\"privateport\": 8080", "\"privateport\": 8", [2]),
    ])
    func anEditIsFoundAndScopedToItsVPC(
        fragment: String, old: String, new: String, scope: [Int]
    ) throws {
        let before = Array(Self.corpus.utf8)
        let after = try Self.edited(fragment) { $0.replacingOccurrences(of: old, with: new) }
        let edit = try after.withUnsafeBytes {
            try CorpusEdit(previous: try Self.layout(before), bytes: $0, file: "c.json")
        }
        #expect(edit.scope == scope)
        #expect(edit.section == .loadBalancerRules || edit.section == .virtualMachines)
        #expect(edit.layout == (try Self.layout(after)))
        #expect(edit.corpus.corpus.vpcs.map(\.id) == scope.map { "vpc-\($0)" })
    }

    @Test func aRemovedElementLeavesTheLayoutOfTheNewFile() throws {
        let before = Array(Self.corpus.utf8)
        let after = try Self.edited("{\"id\": \"lb-9\",", nil)
        let edit = try after.withUnsafeBytes {
            try CorpusEdit(previous: try Self.layout(before), bytes: $0, file: "c.json")
        }
        #expect(edit.scope == [0])
        #expect(edit.layout == (try Self.layout(after)))
    }

    @Test func anEditOfTheVPCsOrOfGlobalMembersIsRefused() throws {
        let before = try Self.layout(Array(Self.corpus.utf8))
        for (fragment, old, new, reason) in [
            ("\"vpc-1\",", "\"cidr\"", "\"name\": \"x\", \"cidr\"", "the edit changes the VPCs"),
            ("\"no-lb\",", "\"no-lb\"", "\"no-lb\", \"name\": \"x\"", "beyond the elements"),
        ] {
            let after = try Self.edited(fragment) { $0.replacingOccurrences(of: old, with: new) }
            #expect {
                try after.withUnsafeBytes {
                    _ = try CorpusEdit(previous: before, bytes: $0, file: "c.json")
                }
            } throws: { error in
                (error as? CorpusEdit.Refusal)?.reason.contains(reason) ?? false
            }
        }
    }

    @Test func anIndexReadsBackAsWrittenAndNotWhenDamaged() throws {
        let bytes = Array(Self.corpus.utf8)
        let (corpus, layout) = try CorpusLayout.load(file: "c.json", bytes: bytes)
        let compilation = try Compilation(
            corpus: corpus, inputFile: "c.json", input: OutputFile.Artifact(of: bytes),
            layout: layout)
        let files = Dictionary(
            uniqueKeysWithValues: compilation.files.filter {
                $0.path == ApplyIndex.fileName || $0.path.hasPrefix(ApplyIndex.pageFolder)
            }.map { ($0.path, $0.bytes) })
        #expect(files.count > 3, "the layout is cut into pages")
        let root = try #require(files[ApplyIndex.fileName])
        let index = try #require(ApplyIndex(root: root, pages: .memory(files)))
        #expect(index.layout == layout)
        let again = index.files(keeping: nil)
        #expect(again.map(\.bytes) == again.map { files[$0.path] ?? [] })
        // A page is named and sized as its bytes are, though digested from the columns.
        for page in again.dropFirst() {
            #expect(page.artifact == OutputFile.Artifact(of: page.bytes), "\(page.path)")
        }
        #expect(index.appliances.count == 3)
        #expect(
            index.stateDigest
                == Digest.hex(Digest.xxh3Wide(Array(compilation.stateDocument.joined()))))
        var damaged = root
        damaged[damaged.count / 2] ^= 1
        #expect(ApplyIndex(root: damaged, pages: .memory(files)) == nil)
        #expect(ApplyIndex(root: Array(root.dropLast()), pages: .memory(files)) == nil)
        let page = try #require(files.keys.first { $0 != ApplyIndex.fileName })
        var flipped = files
        flipped[page]![0] ^= 1
        let damagedPage = flipped
        #expect(ApplyIndex(root: root, pages: .memory(damagedPage)) == nil)
        flipped[page] = files[page]!
        flipped[page]![files[page]!.count / 2] ^= 1
        let damagedColumn = flipped
        #expect(ApplyIndex(root: root, pages: .memory(damagedColumn)) == nil)
        flipped[page] = files[page]! + [0]
        let longerPage = flipped
        #expect(ApplyIndex(root: root, pages: .memory(longerPage)) == nil)
        flipped[page] = nil
        let missingPage = flipped
        #expect(ApplyIndex(root: root, pages: .memory(missingPage)) == nil)
        // The pages as written to a folder read back the same.
        let folder = try scratchFolder("index")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try OutputWriter.replaceDirectory(
            folder + "/out", with: compilation.files.filter { files[$0.path] != nil })
        #expect(ApplyIndex(root: root, pages: .folder(folder + "/out")) == index)
    }

    /// An edit changes the pages around it only.
    @Test func anEditRewritesOnlyItsPage() throws {
        let before = try Self.layout(Array(Self.corpus.utf8))
        let after = try Self.layout(
            try Self.edited("\"lb-1500\",") {
                $0.replacingOccurrences(of: "\"privateport\": 8080", with: "\"privateport\": 81")
            })
        let old = Set(ApplyIndex.pageRanges(of: before).map { ApplyIndex.page($0, of: before) })
        let new = ApplyIndex.pageRanges(of: after).map { ApplyIndex.page($0, of: after) }
        #expect(new.count > 3)
        #expect(new.filter { !old.contains($0) }.count == 1)
    }

    @Test func restartsLeaveNoIndex() throws {
        let bytes = Array(Self.corpus.utf8)
        let (corpus, layout) = try CorpusLayout.load(file: "c.json", bytes: bytes)
        let compilation = try Compilation(
            corpus: corpus, inputFile: "c.json", input: OutputFile.Artifact(of: bytes),
            restarts: [NetworkRestart(networkID: "t-0-0", cleanup: false)], layout: layout)
        #expect(!compilation.files.contains { $0.path == ApplyIndex.fileName })
    }

    /// An output of 300 files in 100 folders, over the threshold, is made durable by one
    /// syncfs, and written whole, also over a previous one.
    @Test func aLargeOutputIsWrittenWholeAndSyncedAsOneFileSystem() throws {
        let folder = try scratchFolder("large")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/out"
        func files(_ round: Int) -> [OutputFile] {
            (0..<300).map { number in
                OutputFile(
                    path: "vpc-\(number % 100)/file-\(number)",
                    bytes: Array(repeating: UInt8(truncatingIfNeeded: number + round), count: 5000))
            } + [OutputFile(path: "manifest.json", bytes: Array("\(round)".utf8))]
        }
        #expect(OutputWriter.syncsFileSystem(writing: 301, changing: 100))
        #expect(!OutputWriter.syncsFileSystem(writing: 10, changing: 3))
        for round in 0..<2 {
            try OutputWriter.replaceDirectory(out, with: files(round))
            for file in files(round) {
                #expect(try FileBytes.read(out + "/" + file.path) == file.bytes, "\(file.path)")
            }
            #expect(filesBelow(out).count == 301)
        }
    }

    /// The output a write replaces becomes the spare the next write stages in; whatever
    /// else is in the spare does not reach the output.
    @Test func theReplacedOutputIsRecycledAndNothingInItIsTrusted() throws {
        let folder = try scratchFolder("staging")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/out"
        func write(_ files: [OutputFile]) throws {
            try OutputWriter.replaceDirectory(
                out, with: files + [OutputFile(path: "manifest.json", bytes: [])])
        }
        func inode(_ path: String) throws -> Int {
            try #require(
                FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
        }
        try write([
            OutputFile(path: "a/kept", bytes: Array("kept".utf8)),
            OutputFile(path: "a/b/gone", bytes: Array("gone".utf8)),
        ])
        let keptInode = try inode(out + "/a/kept")
        let kept = OutputFile.Artifact(bytes: 4, xxh3: Digest.xxh3(Array("kept".utf8)))
        try write([
            OutputFile(path: "a/kept", reusing: kept),
            OutputFile(path: "c/new", bytes: Array("new".utf8)),
        ])
        let spare = folder + "/.out.spare"
        #expect(
            filesBelow(spare) == ["a/kept", "manifest.json"],
            "the spare keeps only links the output shares and the recycled documents")
        #expect(try inode(spare + "/a/kept") == keptInode)
        // Strays in the spare, and a spare file that no longer matches the output's.
        try Data("stray".utf8).write(to: URL(fileURLWithPath: spare + "/stray"))
        try FileManager.default.createDirectory(
            atPath: spare + "/x/y", withIntermediateDirectories: true)
        try write([
            OutputFile(path: "a/kept", reusing: kept),
            OutputFile(path: "c/new", bytes: Array("newer".utf8)),
        ])
        #expect(filesBelow(out) == ["a/kept", "c/new", "manifest.json"])
        #expect(try inode(out + "/a/kept") == keptInode)
        #expect(try String(contentsOfFile: out + "/c/new", encoding: .utf8) == "newer")
        #expect(!FileManager.default.fileExists(atPath: out + "/x"))
        // A spare that is not a folder is not staged in.
        try FileManager.default.removeItem(atPath: spare)
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: spare))
        try write([OutputFile(path: "a/kept", reusing: kept)])
        #expect(filesBelow(out) == ["a/kept", "manifest.json"])
    }

    /// Told what the replaced output holds (its manifest's list), the write makes it the
    /// spare without walking it: the listed files the new output does not share go; a file
    /// not listed stays in the spare, and the next write keeps it out of the output.
    @Test func aListedOutputBecomesTheSpareWithoutAWalk() throws {
        let folder = try scratchFolder("listed")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/out"
        let spare = folder + "/.out.spare"
        func write(_ files: [OutputFile], listed: [String]?) throws {
            try OutputWriter.replaceDirectory(
                out, with: files + [OutputFile(path: "manifest.json", bytes: [])],
                listed: listed)
        }
        let kept = OutputFile.Artifact(bytes: 4, xxh3: Digest.xxh3(Array("kept".utf8)))
        try write(
            [
                OutputFile(path: "a/kept", bytes: Array("kept".utf8)),
                OutputFile(path: "a/b/gone", bytes: Array("gone".utf8)),
            ], listed: nil)
        try Data("unlisted".utf8).write(to: URL(fileURLWithPath: out + "/unlisted"))
        // A manifest is only as trustworthy as whoever could write the output: paths out of
        // it, and folders that are links, are not followed.
        let outside = folder + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        for victim in ["victim", "x"] {
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: outside + "/" + victim))
        }
        try FileManager.default.createSymbolicLink(
            atPath: out + "/link", withDestinationPath: outside)
        let hostile = ["../outside/x", "/\(outside)/x", "a/../../outside/x", "link/victim"]
        try write(
            [
                OutputFile(path: "a/kept", reusing: kept),
                OutputFile(path: "c/new", bytes: Array("new".utf8)),
            ], listed: ["manifest.json", "a/kept", "a/b/gone"] + hostile)
        #expect(filesBelow(spare) == ["a/kept", "link", "manifest.json", "unlisted"])
        #expect(filesBelow(outside) == ["victim", "x"])
        try write(
            [OutputFile(path: "a/kept", reusing: kept)],
            listed: ["manifest.json", "a/kept", "c/new"])
        #expect(filesBelow(out) == ["a/kept", "manifest.json"])
        #expect(filesBelow(spare) == ["a/kept", "manifest.json"])
    }

    /// A file in parts is written, listed and digested as their concatenation.
    @Test func aFileInPartsIsTheirConcatenation() throws {
        let folder = try scratchFolder("parts")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = OutputFile(
            path: "parts", parts: [Array("a".utf8)[...], [], Array("xbcy".utf8)[1..<3]])
        #expect(file.bytes == Array("abc".utf8))
        #expect(file.artifact == OutputFile(path: "joined", bytes: Array("abc".utf8)).artifact)
        try OutputWriter.replaceDirectory(
            folder + "/out", with: [OutputFile(path: "manifest.json", bytes: []), file])
        #expect(try String(contentsOfFile: folder + "/out/parts", encoding: .utf8) == "abc")
        // Parts go to `writev` in batches: more than two batches' worth, with empty parts
        // (first, in a batch, and last) and slices inside their arrays.
        let many = (0..<(2 * OutputWriter.partsPerCall + 7)).map { number -> ArraySlice<UInt8> in
            number % 5 == 0 ? [] : Array("<\(number)>|".utf8).dropLast()
        }
        let joined = many.flatMap { $0 }
        try OutputWriter.replaceFile(folder + "/many", withParts: many + [[]])
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: folder + "/many"))) == joined)
    }

    /// A document the next write rewrites is written over in the spare (its pages reused)
    /// when no other link names it, and replaced by a new file when one does; so is the
    /// spare a replaced single file leaves beside it.
    @Test func recycledDocumentsAreWrittenOverOnlyWhenNoOtherLinkNamesThem() throws {
        let folder = try scratchFolder("recycled")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func inode(_ path: String) throws -> Int {
            try #require(
                FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
        }
        let out = folder + "/out"
        let spare = folder + "/.out.spare"
        func write(_ text: String) throws {
            try OutputWriter.replaceDirectory(
                out,
                with: [
                    OutputFile(path: "manifest.json", bytes: []),
                    OutputFile(path: "state.json", bytes: Array(text.utf8)),
                ])
        }
        try write("first, the longest version")
        let first = try inode(out + "/state.json")
        try write("second")
        #expect(try inode(spare + "/state.json") == first)
        try write("third")
        #expect(try inode(out + "/state.json") == first, "written over in place")
        #expect(try String(contentsOfFile: out + "/state.json", encoding: .utf8) == "third")
        let linked = folder + "/linked"
        try FileManager.default.linkItem(atPath: spare + "/state.json", toPath: linked)
        try write("fourth")
        #expect(try String(contentsOfFile: linked, encoding: .utf8) == "second")
        #expect(try String(contentsOfFile: out + "/state.json", encoding: .utf8) == "fourth")
        // Neither a link to another file nor a FIFO (whose opening would wait for a reader)
        // is written through: each is replaced.
        let victim = folder + "/victim"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: spare + "/state.json")
        try FileManager.default.createSymbolicLink(
            atPath: spare + "/state.json", withDestinationPath: victim)
        try write("fifth")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
        try FileManager.default.removeItem(atPath: spare + "/state.json")
        #expect(mkfifo(spare + "/state.json", 0o644) == 0)
        try write("sixth")
        #expect(try String(contentsOfFile: out + "/state.json", encoding: .utf8) == "sixth")

        let state = folder + "/state.json"
        for text in ["one, the longest version", "two", "three"] {
            try OutputWriter.replaceFile(state, with: Array(text.utf8))
        }
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "three")
        #expect(try String(contentsOfFile: folder + "/.state.json.spare", encoding: .utf8) == "two")
        let held = folder + "/held"
        try FileManager.default.linkItem(atPath: folder + "/.state.json.spare", toPath: held)
        try OutputWriter.replaceFile(state, with: Array("four".utf8))
        #expect(try String(contentsOfFile: held, encoding: .utf8) == "two")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "four")
        #expect(
            try String(contentsOfFile: folder + "/.state.json.spare", encoding: .utf8) == "three")
    }

    /// All regular files below `folder`, relative to it.
    /// A new empty folder of its own under the temporary folder; the caller removes it.
    /// A spare claimed ahead of the write is staged in; one released unused goes back; a
    /// link in the spare's place is never claimed or followed.
    @Test func aClaimedSpareIsStagedInOrGivenBack() throws {
        let folder = try scratchFolder("claimed")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/out"
        let spare = folder + "/.out.spare"
        func write(_ text: String, spare claimed: OutputWriter.ClaimedSpare? = nil) throws {
            try OutputWriter.replaceDirectory(
                out,
                with: [
                    OutputFile(path: "manifest.json", bytes: []),
                    OutputFile(path: "a/b/text", bytes: Array(text.utf8)),
                ], spare: claimed)
        }
        func inode(_ path: String) throws -> Int {
            try #require(
                FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
        }
        try write("first")
        try write("second")
        let spareFolder = try inode(spare)
        var unused = OutputWriter.ClaimedSpare(of: out)
        #expect(unused != nil)
        #expect(!FileManager.default.fileExists(atPath: spare), "claimed: renamed away")
        unused = nil
        #expect(try inode(spare) == spareFolder, "given back")
        let claimed = try #require(OutputWriter.ClaimedSpare(of: out))
        try write("third", spare: claimed)
        #expect(try String(contentsOfFile: out + "/a/b/text", encoding: .utf8) == "third")
        #expect(try inode(out) == spareFolder, "staged in the claimed spare")
        #expect(try inode(spare) != spareFolder)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                == [".out.spare", "out"])
        // A link where the spare should be: not claimed, and what it names stays as it is.
        try FileManager.default.removeItem(atPath: spare)
        let elsewhere = folder + "/elsewhere"
        try FileManager.default.createDirectory(
            atPath: elsewhere, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: elsewhere + "/x"))
        try FileManager.default.createSymbolicLink(atPath: spare, withDestinationPath: elsewhere)
        #expect(OutputWriter.ClaimedSpare(of: out) == nil)
        try write("fourth")
        #expect(try String(contentsOfFile: out + "/a/b/text", encoding: .utf8) == "fourth")
        #expect(filesBelow(elsewhere) == ["x"])
    }

    private func scratchFolder(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("inlinelb-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    private func filesBelow(_ folder: String) -> [String] {
        StagingTree.inventory(of: folder).files.keys.sorted()
    }
}

extension ApplyIndex.PageSource {
    /// Pages held in memory, by path.
    static func memory(_ files: [String: [UInt8]]) -> Self {
        Self(
            size: { files[$0]?.count },
            read: { path, offset, buffers in
                var offset = offset
                for buffer in buffers {
                    guard let bytes = files[path], offset >= 0,
                        offset + buffer.count <= bytes.count
                    else { return false }
                    bytes.withUnsafeBytes {
                        buffer.copyMemory(
                            from: UnsafeRawBufferPointer(
                                rebasing: $0[offset..<offset + buffer.count]))
                    }
                    offset += buffer.count
                }
                return true
            })
    }
}
