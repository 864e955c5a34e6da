import CInlineLBSystem
import Foundation
import InlineLBCore

/// Writes a set of files as one folder that appears all at once: everything goes to a
/// temporary sibling folder, which then takes the target's place in one atomic exchange.
/// A failure at any point leaves the previous folder untouched.
public enum OutputWriter {
    /// A write failure with the path concerned.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// Replaces `directory` with exactly `files` (paths relative to it). A reused file is
    /// hard-linked from the folder being replaced (its content is already on disk and
    /// durable); the others are written and made durable with the folders (fsynced one by
    /// one, or by one `syncfs` for a large output, see ``fileSystemSyncThreshold``), unless
    /// `durable` is false (a throwaway folder, which must still appear complete but need not
    /// survive a power loss).
    ///
    /// The folder replaced is not deleted: it is kept beside the new one as a hidden spare
    /// (`.<name>.spare`, holding only links to files the new folder shares) and the next
    /// replacement is staged in it (``StagingTree``). A file marked as a cache is written
    /// after the others are durable and is not fsynced itself.
    ///
    /// `listed`, when given, names the files the folder being replaced holds (as its
    /// manifest lists them), which spares walking it to find what the spare must drop.
    ///
    /// `beforeSwap`, when given, runs once the new folder is complete and durable, just
    /// before it takes the target's place; an error it throws leaves the target as it was.
    ///
    /// Refuses to replace an existing non-empty folder that holds no `manifest.json` (it
    /// is not a previous output), so that a mistyped `-o` never deletes user data.
    ///
    /// `spare`, when given, is the spare of `directory` claimed earlier (see
    /// ``ClaimedSpare``); else it is claimed here.
    public static func replaceDirectory(
        _ directory: String, with files: [OutputFile], durable: Bool = true,
        listed: [String]? = nil, spare claimed: ClaimedSpare? = nil,
        beforeSwap: (() throws(WriteError) -> Void)? = nil
    ) throws(WriteError) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = manager.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists {
            guard isDirectory.boolValue else {
                throw WriteError(path: directory, message: "exists and is not a folder")
            }
            // Looked up, not listed: a million-rule output holds 1,000 folders at the top.
            var manifest = stat()
            if lstat(directory + "/manifest.json", &manifest) != 0 && !isEmptyFolder(directory) {
                throw WriteError(
                    path: directory,
                    message:
                        "refusing to replace a non-empty folder that holds no manifest.json of a previous output"
                )
            }
        }
        let parent = PathName.folder(of: directory)
        let base = PathName.base(of: directory)
        removeAbandoned(in: parent, prefix: ".\(base).tmp-")
        let spare = StagingTree.sparePath(of: directory)
        let claim =
            exists ? (claimed?.directory == directory ? claimed : ClaimedSpare(of: directory)) : nil
        // Released at the end, once the staging folder is swapped in or removed.
        defer { withExtendedLifetime(claim) {} }
        let staging: String
        var present = StagingTree.Inventory()
        if let claim {
            staging = claim.staging
            present = claim.inventory.value
        } else {
            staging = stagingPath(of: directory)
            if !exists { try? manager.removeItem(atPath: spare) }
            do {
                try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
            } catch {
                throw WriteError(
                    path: staging,
                    message: "cannot create the staging folder: \(error.localizedDescription)")
            }
        }
        do throws(WriteError) {
            let (toLink, changed) = try StagingTree.prune(
                staging, holding: present, for: files, source: directory)
            try onAllCores(toLink.count) { index throws(WriteError) in
                try link(from: directory + "/" + toLink[index], to: staging + "/" + toLink[index])
            }
            // Written on all cores with their writeback started, then each made durable: the
            // fsyncs mostly wait for I/O already under way instead of starting it one by one.
            // Caches are written last, so that the fsyncs do not wait for their pages too.
            let lasting = files.filter { !$0.isReused && !$0.isCache }
            // A large output is made durable by one sync of its filesystem, opened before the
            // writes so that it reports their errors; a small one file by file.
            let fileSystem =
                durable && syncsFileSystem(writing: lasting.count, changing: changed.count)
                ? try openFolder(staging) : nil
            defer { if let fileSystem { close(fileSystem) } }
            try onAllCores(lasting.count) { index throws(WriteError) in
                try writeFile(
                    staging + "/" + lasting[index].path, lasting[index].parts,
                    then: durable ? .startWriteback : .nothing)
            }
            if let fileSystem {
                guard inlinelb_sync_filesystem(fileSystem) == 0 else {
                    throw WriteError(
                        path: staging,
                        message: "syncfs failed: \(String(cString: strerror(errno)))")
                }
            } else if durable {
                try onAllCores(lasting.count) { index throws(WriteError) in
                    try syncFile(staging + "/" + lasting[index].path)
                }
            }
            for cache in files where cache.isCache && !cache.isReused {
                try writeFile(staging + "/" + cache.path, cache.parts, then: .nothing)
            }
            if durable && fileSystem == nil {
                // Deepest first: a new folder is durable before the entry naming it.
                for folder in changed.sorted(by: { $0.count > $1.count }) where !folder.isEmpty {
                    try syncDirectory(staging + "/" + folder)
                }
                try syncDirectory(staging)
            }
            try beforeSwap?()
            if exists {
                guard inlinelb_exchange_paths(staging, directory) == 0 else {
                    throw WriteError(
                        path: directory,
                        message:
                            "cannot swap in the new output: \(String(cString: strerror(errno)))")
                }
            } else if rename(staging, directory) != 0 {
                throw WriteError(
                    path: directory,
                    message:
                        "cannot move the new output into place: \(String(cString: strerror(errno)))"
                )
            }
            if durable { try syncDirectory(parent) }
        } catch {
            try? manager.removeItem(atPath: staging)
            throw error
        }
        // After an exchange the staging path holds the previous output.
        if exists { StagingTree.keepAsSpare(staging, spare: spare, files: files, listed: listed) }
    }

    /// A new staging folder's path for `directory`: a hidden sibling named after this
    /// process.
    static func stagingPath(of directory: String) -> String {
        PathName.folder(of: directory)
            + "/.\(PathName.base(of: directory)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The spare of an output folder (see ``StagingTree``), claimed before the new output
    /// is ready: renamed to a staging folder of this process and walked on another core
    /// while the caller compiles (a million-rule output's spare has 3,000 folders).
    /// ``replaceDirectory(_:with:durable:listed:spare:beforeSwap:)`` stages in it; one still
    /// there when released (never used) goes back to being the spare.
    public final class ClaimedSpare: Sendable {
        let directory: String
        let staging: String
        let spare: String
        let inventory: Pending<StagingTree.Inventory>

        /// Claims the spare of `directory` when there is one (a folder, not a link) and
        /// `directory` is a previous output (it holds a `manifest.json`); nil otherwise.
        public init?(of directory: String) {
            var status = stat()
            let spare = StagingTree.sparePath(of: directory)
            guard lstat(directory + "/manifest.json", &status) == 0,
                lstat(spare, &status) == 0, status.st_mode & S_IFMT == S_IFDIR
            else { return nil }
            let staging = OutputWriter.stagingPath(of: directory)
            guard rename(spare, staging) == 0 else { return nil }
            self.directory = directory
            self.staging = staging
            self.spare = spare
            inventory = Pending { StagingTree.inventory(of: staging) }
        }

        deinit {
            // A used one is gone: swapped in and kept as the new spare, or removed.
            _ = inventory.value
            rename(staging, spare)
        }
    }

    /// From this many files to write and folders changed on, an output is made durable by
    /// one `syncfs` instead of an fsync of each: thousands of fsyncs each wait for a flush of
    /// the disk's cache, where one sync of the filesystem writes the same data and metadata
    /// with one (about 0.5 s against 0.04 s for the 4,000 files and 3,000 folders of a
    /// million-rule output). It also waits for other dirty data on that filesystem, which a
    /// small output should not.
    static let fileSystemSyncThreshold = 256

    /// Whether an output that writes `files` files and changes `folders` folders is made
    /// durable by one sync of its filesystem (see ``fileSystemSyncThreshold``).
    static func syncsFileSystem(writing files: Int, changing folders: Int) -> Bool {
        files + folders >= fileSystemSyncThreshold
    }

    /// Replaces one file atomically: write a temporary sibling, fsync, swap it in.
    ///
    /// The file replaced is kept beside as a hidden spare (`.<name>.spare`), and the next
    /// replacement is written over it (see ``writeFile(_:_:then:)``) instead of into a new
    /// file.
    public static func replaceFile(_ path: String, with bytes: [UInt8]) throws(WriteError) {
        try replaceFile(path, withParts: [bytes[...]])
    }

    /// Replaces one file with `parts`, one after another, as ``replaceFile(_:with:)`` does.
    public static func replaceFile(_ path: String, withParts parts: [ArraySlice<UInt8>])
        throws(WriteError)
    {
        try stageFile(path, withParts: parts).commit()
    }

    /// A file's replacement written and made durable beside it, not yet in its place.
    public struct StagedFile: Sendable {
        let path: String
        let temporary: String
        let spare: String

        /// Swaps the replacement in; the file replaced becomes the spare.
        public func commit() throws(WriteError) {
            if inlinelb_exchange_paths(temporary, path) == 0 {
                if rename(temporary, spare) != 0 { unlink(temporary) }
            } else if rename(temporary, path) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw WriteError(path: path, message: "cannot move into place: \(reason)")
            }
            try syncDirectory(PathName.folder(of: path))
        }

        /// Gives the replacement up; the file stays as it was.
        public func discard() {
            unlink(temporary)
        }
    }

    /// Writes `parts` as the replacement of the file at `path` and makes it durable, for
    /// ``StagedFile/commit()`` to swap in: in a temporary sibling, over the spare the last
    /// replacement left when there is one.
    public static func stageFile(_ path: String, withParts parts: [ArraySlice<UInt8>])
        throws(WriteError) -> StagedFile
    {
        let parent = PathName.folder(of: path)
        removeAbandoned(
            in: parent,
            prefix: PathName.base(of: path) + ".tmp-")
        let staged = StagedFile(
            path: path, temporary: path + ".tmp-\(getpid())",
            spare: parent + "/.\(PathName.base(of: path)).spare")
        do throws(WriteError) {
            // Claimed by renaming: only a regular file that no other link names is written
            // over, anything else is replaced.
            var status = stat()
            if lstat(staged.spare, &status) == 0 && status.st_mode & S_IFMT == S_IFREG {
                rename(staged.spare, staged.temporary)
            }
            try writeFile(staged.temporary, parts, then: .sync)
        } catch {
            staged.discard()
            throw error
        }
        return staged
    }

    /// Removes what a run killed mid-write left in `folder`: entries named `prefix<pid>...`
    /// whose process no longer exists (a live one may be another inlinelb writing).
    private static func removeAbandoned(in folder: String, prefix: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            return
        }
        for entry in entries where entry.hasPrefix(prefix) {
            let digits = entry.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber }
            guard let pid = pid_t(digits), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
    }

    /// Whether the folder at `path` holds nothing (or cannot be read).
    private static func isEmptyFolder(_ path: String) -> Bool {
        guard let handle = opendir(path) else { return true }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let isDots = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".")
                    && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDots { return false }
        }
        return true
    }

    /// Hard-links an unchanged file of the previous output into the staging folder.
    private static func link(from source: String, to path: String) throws(WriteError) {
        guard Glibc.link(source, path) == 0 else {
            throw WriteError(
                path: source,
                message:
                    "cannot keep this unchanged file of the previous output: \(String(cString: strerror(errno)))"
            )
        }
    }

    /// What ``writeFile(_:_:then:)`` does once the bytes are written.
    enum AfterWrite {
        /// Waits until the file is on disk.
        case sync
        /// Starts writing it to disk without waiting (a later fsync waits).
        case startWriteback
        /// Leaves it to the kernel (a throwaway file).
        case nothing
    }

    /// Writes `parts`, one after another, as the file at `path` (``partsPerCall`` parts a
    /// `writev`), then does what `after` says.
    ///
    /// A file already at `path` that no other link names (a recycled spare) is written over
    /// in place: its pages are in memory already, where a new file's must be allocated,
    /// which on this kind of virtual machine costs more than the copy (55 ms against 3 ms
    /// for 16 MB). Any other file there is replaced by a new one.
    static func writeFile(_ path: String, _ parts: [ArraySlice<UInt8>], then after: AfterWrite)
        throws(WriteError)
    {
        // Not through a link, and without waiting for a reader should a FIFO be there.
        var descriptor = open(
            path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        var status = stat()
        if descriptor < 0 || fstat(descriptor, &status) != 0 || status.st_nlink != 1
            || status.st_mode & S_IFMT != S_IFREG
        {
            if descriptor >= 0 { close(descriptor) }
            unlink(path)
            descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else {
            throw WriteError(
                path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var batch = parts[...]
        while !batch.isEmpty {
            var vectors: [iovec] = []
            vectors.reserveCapacity(partsPerCall)
            let written = withVectors(of: batch.prefix(partsPerCall), &vectors) {
                writeAll(descriptor, $0)
            }
            guard written else {
                throw WriteError(
                    path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            batch = batch.dropFirst(partsPerCall)
        }
        let size = parts.reduce(0) { $0 + $1.count }
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw WriteError(
                path: path, message: "cannot truncate: \(String(cString: strerror(errno)))")
        }
        switch after {
        case .sync:
            guard fsync(descriptor) == 0 else {
                throw WriteError(
                    path: path, message: "fsync failed: \(String(cString: strerror(errno)))")
            }
        case .startWriteback: inlinelb_start_writeback(descriptor)
        case .nothing: break
        }
    }

    /// How many parts ``writeFile(_:_:then:)`` passes to one `writev` (a `state.json` has
    /// two parts an appliance: 4,000 `write` calls for a million-rule output, 63 `writev`).
    static let partsPerCall = 64

    /// Calls `body` with an `iovec` for each of `parts`, appended to `vectors`; each points
    /// into its part during the call only.
    private static func withVectors<Result>(
        of parts: ArraySlice<ArraySlice<UInt8>>, _ vectors: inout [iovec],
        _ body: ([iovec]) -> Result
    ) -> Result {
        guard let first = parts.first else { return body(vectors) }
        return first.withUnsafeBytes { raw in
            vectors.append(
                iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count
                ))
            return withVectors(of: parts.dropFirst(), &vectors, body)
        }
    }

    /// Writes all the bytes `vectors` point to, in order, going on after a short or
    /// interrupted `writev`; false (with `errno` set) when a write fails.
    private static func writeAll(_ descriptor: Int32, _ vectors: [iovec]) -> Bool {
        var pending = vectors.drop { $0.iov_len == 0 }
        while !pending.isEmpty {
            let result = pending.withUnsafeBufferPointer {
                writev(descriptor, $0.baseAddress, Int32($0.count))
            }
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            // The first pending vector holds bytes: a call that moved none would repeat.
            guard result > 0 else {
                errno = EIO
                return false
            }
            var written = result
            while let first = pending.first, written >= first.iov_len {
                written -= first.iov_len
                pending = pending.dropFirst()
            }
            if written > 0 {
                pending[pending.startIndex].iov_base += written
                pending[pending.startIndex].iov_len -= written
            }
        }
        return true
    }

    /// Waits until the file at `path` is on disk.
    private static func syncFile(_ path: String) throws(WriteError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            throw WriteError(path: path, message: "fsync failed: \(reason)")
        }
        close(descriptor)
    }

    /// Runs `body` for every index below `count`, in parts on all cores; the error of the
    /// lowest failing part, if any, is thrown.
    private static func onAllCores(
        _ count: Int, _ body: @Sendable (Int) throws(WriteError) -> Void
    ) throws(WriteError) {
        _ = try (0..<count).split(into: 64).concurrentMap { range throws(WriteError) in
            for index in range { try body(index) }
        }
    }

    private static func syncDirectory(_ path: String) throws(WriteError) {
        let descriptor = try openFolder(path)
        defer { close(descriptor) }
        fsync(descriptor)
    }

    /// A descriptor of the folder at `path`, for syncing it.
    private static func openFolder(_ path: String) throws(WriteError) -> Int32 {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw WriteError(
                path: path, message: "cannot open folder: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }
}
