import Foundation
import InlineLBCore

/// What an earlier compilation left in an output folder, as its manifest describes it:
/// every artifact's size and XXH3-64, and the XXH3-128 of each appliance's canonical input.
///
/// A compilation that finds an appliance's input unchanged takes its files from here (hard
/// links, nothing rendered or written). The output folder belongs to inlinelb: a file whose
/// size no longer matches the manifest is rendered afresh, but edits that keep the size are
/// not detected.
public struct PreviousOutput: Sendable {
    /// The folder.
    public let folder: String
    let artifacts: [String: OutputFile.Artifact]
    /// Appliance folder to the XXH3-128 of its canonical input.
    let inputs: [String: String]
    /// The appliance folders of `inputs` in the manifest's order (the state's).
    let inputOrder: [String]

    /// Reads `folder/manifest.json`; nil when there is none, it is unreadable, or another
    /// version of inlinelb wrote it (its renderers may differ).
    public init?(folder: String) {
        guard let bytes = try? FileBytes.read(folder + "/manifest.json"),
            let root = try? JSONReader.parse(bytes),
            root.member("format")?.string == Compilation.manifestFormat,
            root.member("tool")?.string == "inlinelb \(inlinelbVersion)",
            let listed = root.member("artifacts"), listed.kind == .array
        else { return nil }
        var artifacts: [String: OutputFile.Artifact] = [:]
        for entry in listed.elements {
            guard let path = entry.member("path")?.string,
                let size = entry.member("bytes")?.integer,
                let digest = entry.member("xxh3")?.string.flatMap({ UInt64($0, radix: 16) })
            else { return nil }
            artifacts[path] = OutputFile.Artifact(bytes: size, xxh3: digest)
        }
        var inputs: [String: String] = [:]
        var order: [String] = []
        if let listed = root.member("inputs") {
            for entry in listed.elements {
                guard let unit = entry.member("unit")?.string,
                    let digest = entry.member("xxh3-128")?.string
                else { return nil }
                inputs[unit] = digest
                order.append(unit)
            }
        }
        self.folder = folder
        self.artifacts = artifacts
        self.inputs = inputs
        inputOrder = order
    }

    /// The files at `paths` as reusable artifacts, if the manifest lists each of them and
    /// each is still on disk with its listed size.
    func reuse(_ paths: [String]) -> [OutputFile]? {
        // Looked up on all cores: an output of a million rules has 4,000 files.
        let found = paths.concurrentMap { path -> OutputFile? in
            // A plain stat: Foundation's attributes also look up the owner's account name.
            var status = stat()
            guard let artifact = artifacts[path], lstat(folder + "/" + path, &status) == 0,
                status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) == artifact.bytes
            else { return nil }
            return OutputFile(path: path, reusing: artifact, inode: UInt64(status.st_ino))
        }
        let files = found.compactMap { $0 }
        return files.count == paths.count ? files : nil
    }

    /// The paths of the manifest and of every file it lists.
    public var listedPaths: [String] { ["manifest.json"] + artifacts.keys }

    /// The bytes of the file at `path`, when they are what the manifest lists there.
    func listedBytes(of path: String) -> [UInt8]? {
        guard let bytes = try? FileBytes.read(folder + "/" + path),
            artifacts[path] == OutputFile.Artifact(bytes: bytes.count, xxh3: Digest.xxh3(bytes))
        else { return nil }
        return bytes
    }

    /// The file at `path` as a reused artifact when the manifest lists `artifact` there
    /// (and it is still on disk with that size).
    func reuse(_ path: String, holding artifact: OutputFile.Artifact) -> OutputFile? {
        guard artifacts[path] == artifact else { return nil }
        return reuse([path])?.first
    }

    /// `file` as a reused artifact when the previous output holds the same bytes at its path.
    func reuse(_ file: OutputFile) -> OutputFile? {
        file.isReused ? nil : reuse(file.path, holding: file.artifact)
    }
}
