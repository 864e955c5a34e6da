import Foundation
import Testing

@testable import InlineLBCore

@Suite("Reading whole files")
struct FileBytesTests {
    /// A file of `size` patterned bytes in a fresh folder; the folder is removed after `body`.
    private func withFile(size: Int, _ body: (String, [UInt8]) throws -> Void) throws {
        let folder =
            FileManager.default.temporaryDirectory.path + "/inlinelb-filebytes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 12) }
        let path = folder + "/file"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try body(path, bytes)
    }

    @Test(arguments: [
        0, 1, 4097, FileBytes.parallelReadSize - 1, 2 * FileBytes.parallelReadSize + 12_345,
    ])
    func readsEveryByteInOrder(size: Int) throws {
        // Sizes from the parallel threshold on are read in parts on all cores.
        try withFile(size: size) { path, bytes in
            let read = try FileBytes.read(path)
            #expect(read == bytes)
        }
    }

    @Test func aRangeIsReadWhenTheFileHoldsItAll() throws {
        try withFile(size: 10_000) { path, bytes in
            for range in [0..<0, 0..<10_000, 4_000..<4_097, 9_999..<10_000] {
                #expect(FileBytes.read(path, at: range) == Array(bytes[range]), "\(range)")
            }
            #expect(FileBytes.read(path, at: 9_999..<10_001) == nil)
            #expect(FileBytes.read(path + ".missing", at: 0..<1) == nil)
            #expect(FileBytes.size(of: path) == 10_000)
            #expect(FileBytes.size(of: path + ".missing") == nil)
            #expect(FileBytes.size(of: PathName.folder(of: path)) == nil)
            // Into buffers one after another, from an offset.
            var first = [UInt8](repeating: 0, count: 3)
            var second = [UInt8](repeating: 0, count: 4_000)
            let read = first.withUnsafeMutableBytes { first in
                second.withUnsafeMutableBytes { second in
                    FileBytes.read(path, at: 5_000, into: [first, second])
                }
            }
            #expect(read)
            #expect(first + second == Array(bytes[5_000..<9_003]))
            let pastTheEnd = second.withUnsafeMutableBytes {
                FileBytes.read(path, at: 6_001, into: [$0])
            }
            #expect(!pastTheEnd)
        }
    }

    /// A mapped file reads as a document exactly as its bytes in an array do, down to the
    /// line and column of a byte.
    @Test func aMappedDocumentReadsAsItsBytes() throws {
        let text = "{\"a\": [1, 2.5, \"x\\u0041\"],\n \"b\": {\"c\": null}}\n"
        try withFile(size: 0) { path, _ in
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let mapped = try JSONReader.parseDocument(.mapped(MappedFile(path)))
            let array = try JSONReader.parseDocument(Array(text.utf8))
            /// Every value's kind, offset and text, depth first.
            func walk(_ node: JSONNode) -> String {
                let children: [String] =
                    switch node.value {
                    case .array(let elements): elements.map(walk)
                    case .object(let members): members.map { $0.key + "=" + walk($0.node) }
                    default: [node.string ?? node.numberText ?? ""]
                    }
                return "\(node.kind)@\(node.offset)(" + children.joined(separator: ",") + ")"
            }
            #expect(walk(mapped.root) == walk(array.root))
            #expect(mapped.root.member("a")?.element(at: 2)?.string == "xA")
            #expect(mapped.bytes.location(of: 30) == array.bytes.location(of: 30))
            #expect(mapped.bytes.location(of: 30).description == "2:4")
        }
    }

    @Test func aFileLongerThanItsReportedSizeIsReadToItsEnd() throws {
        // /proc files report a size of 0 and still have content.
        let status = try FileBytes.read("/proc/self/status")
        #expect(String(decoding: status, as: UTF8.self).hasPrefix("Name:"))
    }

    @Test func failuresNameTheFileAndTheReason() throws {
        try withFile(size: 100) { path, _ in
            let tooLarge = #expect(throws: FileBytes.ReadError.self) {
                try FileBytes.read(path, limit: 99)
            }
            #expect(tooLarge?.isTooLarge == true)
            #expect(tooLarge?.description == "\(path): is 100 bytes, more than the limit of 99")
            let missing = #expect(throws: FileBytes.ReadError.self) {
                try FileBytes.read(path + ".missing")
            }
            #expect(missing?.description == "\(path).missing: No such file or directory")
            let folder = #expect(throws: FileBytes.ReadError.self) {
                try FileBytes.read(PathName.folder(of: path))
            }
            #expect(folder?.description.hasSuffix(": is a folder") == true)
        }
    }
}
