import Foundation
import InlineLBCore

/// The folder an output is staged in, recycled from the output before last.
///
/// A million-rule output has 3,000 folders, and on ext4 creating and deleting them cost
/// more than everything else an incremental apply does. So the output that a swap
/// replaces is not deleted: it is kept beside the new one as a hidden spare
/// (`.<name>.spare`), holding only its links to files the new output shares, and the next
/// write stages in it.
///
/// Nothing in a spare is trusted. An entry is kept only when it is the very file (inode)
/// that the new output takes over, or one of the ``recycled`` documents that the new
/// output writes again; every other entry is removed. A kept document is written over in
/// place only when no other link names it (``OutputWriter/writeFile(_:_:then:)``), else
/// replaced by a new file: nothing is written through a link.
enum StagingTree {
    /// The documents a spare keeps even when the new output does not share them, so that
    /// the next write reuses their pages instead of allocating new ones (``OutputWriter``
    /// explains why): the large ones at the top, which nearly every apply rewrites.
    static let recycled: Set<String> = ["state.json", "topology.json", "manifest.json"]

    /// What a folder holds, by path relative to it.
    struct Inventory {
        /// Regular files (and anything else that is not a folder) with their inode.
        var files: [String: UInt64] = [:]
        /// Folders.
        var folders: Set<String> = []
    }

    /// The spare kept beside `directory`.
    static func sparePath(of directory: String) -> String {
        PathName.folder(of: directory) + "/.\(PathName.base(of: directory)).spare"
    }

    /// Everything below `root`, the top folder's subfolders walked on all cores (a
    /// million-rule output has 1,000 of them, and 3,000 folders in all).
    static func inventory(of root: String) -> Inventory {
        var inventory = Inventory()
        walk(root, "", into: &inventory, descending: false)
        let parts = Array(inventory.folders).concurrentMap { folder in
            var part = Inventory()
            walk(root, folder, into: &part, descending: true)
            return part
        }
        for part in parts {
            inventory.files.merge(part.files) { first, _ in first }
            inventory.folders.formUnion(part.folders)
        }
        return inventory
    }

    /// Adds what the folder `folder` (relative to `root`) holds to `inventory`, and with
    /// `descending` what its folders hold, and so on.
    private static func walk(
        _ root: String, _ folder: String, into inventory: inout Inventory, descending: Bool
    ) {
        var pending = [folder]
        while let folder = pending.popLast() {
            guard let handle = opendir(folder.isEmpty ? root : root + "/" + folder) else {
                continue
            }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name != "." && name != ".." else { continue }
                let path = folder.isEmpty ? name : folder + "/" + name
                var isFolder = entry.pointee.d_type == UInt8(DT_DIR)
                if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                    var status = stat()
                    isFolder =
                        lstat(root + "/" + path, &status) == 0
                        && status.st_mode & S_IFMT == S_IFDIR
                }
                if isFolder {
                    inventory.folders.insert(path)
                    if descending { pending.append(path) }
                } else {
                    inventory.files[path] = UInt64(entry.pointee.d_ino)
                }
            }
        }
    }

    /// Turns `staging`, holding `present`, into a folder with the entries of `files` but
    /// not their content: every entry is removed but links to the files of `source` that
    /// `files` reuses and the ``recycled`` documents that `files` writes again (to be
    /// written over). Returns what is left to do: the reused files to link, and the
    /// folders (relative; "" is `staging` itself) whose entries change.
    static func prune(
        _ staging: String, holding present: Inventory, for files: [OutputFile], source: String
    ) throws(OutputWriter.WriteError) -> (toLink: [String], changed: Set<String>) {
        var reusedInode: [String: UInt64] = [:]
        for file in files where file.isReused {
            if let inode = file.reusedInode {
                reusedInode[file.path] = inode
                continue
            }
            var status = stat()
            if lstat(source + "/" + file.path, &status) == 0 {
                reusedInode[file.path] = UInt64(status.st_ino)
            }
        }
        let rewritten = Set(
            files.lazy.filter { !$0.isReused && recycled.contains($0.path) }.map(\.path))
        var changed = Set<String>()
        var kept = Set<String>()
        for (path, inode) in present.files {
            if reusedInode[path] == inode {
                kept.insert(path)
                continue
            }
            if rewritten.contains(path) { continue }
            guard unlink(staging + "/" + path) == 0 else {
                throw failure(staging + "/" + path, "cannot remove from the staging folder")
            }
            changed.insert(parentFolder(path))
        }
        var needed = Set<String>()
        for file in files {
            var folder = parentFolder(file.path)
            while !folder.isEmpty && needed.insert(folder).inserted {
                folder = parentFolder(folder)
            }
        }
        // Deepest first, so that each folder is empty when it goes.
        let removed = present.folders.subtracting(needed)
        for folder in removed.sorted(by: { $0.count > $1.count }) {
            guard rmdir(staging + "/" + folder) == 0 else {
                throw failure(staging + "/" + folder, "cannot remove from the staging folder")
            }
            changed.insert(parentFolder(folder))
        }
        // A top-level folder at a time with the folders below it, parents first, on all cores
        // (a million-rule output has 3,000 folders). Level by level, the cores spent a third
        // of their time spinning on the lock of the one folder the first level shares.
        let created = needed.subtracting(present.folders)
        var trees: [String: [String]] = [:]
        for folder in created {
            let top = folder.split(separator: "/", maxSplits: 1).first.map(String.init) ?? folder
            trees[top, default: []].append(folder)
            changed.insert(folder)
            changed.insert(parentFolder(folder))
        }
        func depth(_ folder: String) -> Int { folder.utf8.count { $0 == UInt8(ascii: "/") } }
        let ordered = trees.values.map { tree in tree.sorted { depth($0) < depth($1) } }
        _ = try (0..<ordered.count).split(into: 16).concurrentMap {
            range throws(OutputWriter.WriteError) in
            for tree in ordered[range] {
                for folder in tree {
                    guard mkdir(staging + "/" + folder, 0o755) == 0 else {
                        throw failure(staging + "/" + folder, "cannot create folder")
                    }
                }
            }
        }
        var toLink: [String] = []
        for file in files where file.isReused && !kept.contains(file.path) {
            toLink.append(file.path)
            changed.insert(parentFolder(file.path))
        }
        for file in files where !file.isReused { changed.insert(parentFolder(file.path)) }
        return (toLink, changed.subtracting(removed))
    }

    /// Keeps `swappedOut`, the output a swap just replaced, as the spare: its files that
    /// the new output does not share go, but for the ``recycled`` documents, and it takes
    /// the spare's name. Best effort: a
    /// spare that cannot be made is deleted.
    ///
    /// With `listed`, the files `swappedOut` is known to hold (its manifest's), those that
    /// `files`, the new output, does not reuse are removed without walking the folders;
    /// anything else it holds stays in the spare until the next write prunes it. Without,
    /// every file is found and removed unless another link to it exists.
    static func keepAsSpare(
        _ swappedOut: String, spare: String, files: [OutputFile], listed: [String]?
    ) {
        if let listed {
            let shared = Set(files.lazy.filter(\.isReused).map(\.path))
            removeFiles(
                listed.filter { !shared.contains($0) && !recycled.contains($0) }, below: swappedOut)
        } else {
            for path in inventory(of: swappedOut).files.keys where !recycled.contains(path) {
                var status = stat()
                if lstat(swappedOut + "/" + path, &status) != 0 || status.st_nlink <= 1 {
                    unlink(swappedOut + "/" + path)
                }
            }
        }
        if rename(swappedOut, spare) != 0 {
            try? FileManager.default.removeItem(atPath: swappedOut)
        }
    }

    /// Removes the files at `paths` (relative) below `root`, never outside it: a path that
    /// is not a plain relative path is skipped, and folders are opened one component at a
    /// time without following symbolic links (the list comes from a manifest, which anyone
    /// able to write the output could have edited).
    static func removeFiles(_ paths: [String], below root: String) {
        let rootDescriptor = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard rootDescriptor >= 0 else { return }
        var folders = ["": rootDescriptor]
        defer { for descriptor in folders.values where descriptor >= 0 { close(descriptor) } }
        /// The descriptor of the folder at `path` (relative), opened if not yet; -1 if it
        /// cannot be, or is a link.
        func folder(_ path: String) -> Int32 {
            if let descriptor = folders[path] { return descriptor }
            let parent = folder(parentFolder(path))
            let descriptor =
                parent < 0
                ? -1
                : openat(
                    parent, String(path.split(separator: "/").last ?? ""),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            folders[path] = descriptor
            return descriptor
        }
        for path in paths {
            let components = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.hasPrefix("/"),
                components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
            else { continue }
            let parent = folder(parentFolder(path))
            if parent >= 0 { unlinkat(parent, String(components.last!), 0) }
        }
    }

    /// The folder part of a relative path ("" at the top).
    static func parentFolder(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    private static func failure(_ path: String, _ message: String) -> OutputWriter.WriteError {
        OutputWriter.WriteError(
            path: path, message: "\(message): \(String(cString: strerror(errno)))")
    }
}
