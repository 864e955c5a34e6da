#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading whole files without Foundation.
public enum FileBytes {
    /// Files from this size on are read in parts on all cores.
    static let parallelReadSize = 8 << 20

    /// A read failure: the path and the system's reason.
    public struct ReadError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        /// Whether the file is larger than the limit the caller gave.
        public var isTooLarge = false
        public var description: String { "\(path): \(reason)" }
    }

    /// The bytes at `range` of the file at `path`; nil when they cannot all be read.
    public static func read(_ path: String, at range: Range<Int>) -> [UInt8]? {
        var complete = false
        let bytes = [UInt8](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            complete = read(
                path, at: range.lowerBound, into: [UnsafeMutableRawBufferPointer(buffer)])
            initialized = complete ? range.count : 0
        }
        return complete ? bytes : nil
    }

    /// Fills `buffers`, one after another, with the bytes from `offset` of the file at
    /// `path`; false when they cannot all be read.
    public static func read(
        _ path: String, at offset: Int, into buffers: [UnsafeMutableRawBufferPointer]
    ) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var offset = offset
        for buffer in buffers {
            guard let base = buffer.baseAddress else { continue }
            guard readFully(descriptor, at: offset, into: base, buffer.count).read == buffer.count
            else { return false }
            offset += buffer.count
        }
        return true
    }

    /// The size of the file at `path` (following links); nil when there is none.
    public static func size(of path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(status.st_size)
    }

    /// Reads `count` bytes from `offset` of the file open as `descriptor` into `target`,
    /// call after call: how many it read (fewer at the file's end or on a failure) and the
    /// failure's `errno`, if any.
    private static func readFully(
        _ descriptor: Int32, at offset: Int, into target: UnsafeMutableRawPointer, _ count: Int
    ) -> (read: Int, failure: Int32?) {
        var done = 0
        while done < count {
            let got = pread(descriptor, target + done, count - done, off_t(offset + done))
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return (done, got < 0 ? errno : nil) }
            done += got
        }
        return (done, nil)
    }

    /// The whole content of the file at `path`.
    public static func read(_ path: String, limit: Int = .max) throws(ReadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ReadError(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ReadError(path: path, reason: String(cString: strerror(errno)))
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw ReadError(path: path, reason: "is a folder") }
        func tooLarge(_ size: Int) -> ReadError {
            ReadError(
                path: path, reason: "is \(size) bytes, more than the limit of \(limit)",
                isTooLarge: true)
        }
        // Read straight into the array, a large file in parts on all cores (each faults in
        // its own share of fresh pages); a file that grew since fstat is read on in chunks.
        let size = Int(status.st_size)
        guard size <= limit else { throw tooLarge(size) }
        var failure: Int32?
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            nonisolated(unsafe) let base = buffer.baseAddress!
            let parts = (0..<size).split(into: size >= parallelReadSize ? 16 : 1)
            let outcomes = parts.concurrentMap { part in
                readFully(descriptor, at: part.lowerBound, into: base + part.lowerBound, part.count)
            }
            // What was read up to the first short part; the file shrank or failed there.
            for (part, outcome) in zip(parts, outcomes) {
                count += outcome.read
                failure = outcome.failure
                if outcome.read < part.count { return }
            }
        }
        _ = lseek(descriptor, off_t(bytes.count), SEEK_SET)
        var chunk = [UInt8](
            repeating: 0, count: failure == nil && bytes.count == size ? 1 << 16 : 0)
        while failure == nil && !chunk.isEmpty {
            let count = chunk.withUnsafeMutableBytes {
                Glibc.read(descriptor, $0.baseAddress, $0.count)
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { failure = errno }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limit else { throw tooLarge(bytes.count) }
        }
        if let failure {
            throw ReadError(path: path, reason: String(cString: strerror(failure)))
        }
        return bytes
    }
}

/// A file mapped read-only into memory: its bytes without copying them, for reading a
/// large file of which only a little is looked at closely. What cannot be mapped (a pipe,
/// a terminal) is read instead.
public final class MappedFile: @unchecked Sendable {
    /// The file's bytes, valid while the object lives.
    public let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is a mapping (else an allocation holding what was read).
    private let isMapped: Bool

    /// Maps the file at `path` (at most `limit` bytes long).
    public init(_ path: String, limit: Int = .max) throws(FileBytes.ReadError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FileBytes.ReadError(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw FileBytes.ReadError(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(status.st_size)
        guard status.st_mode & S_IFMT == S_IFREG, size > 0 else {
            let read = try FileBytes.read(path, limit: limit)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: read.count, alignment: 8)
            buffer.copyBytes(from: read)
            bytes = UnsafeRawBufferPointer(buffer)
            isMapped = false
            return
        }
        guard size <= limit else {
            throw FileBytes.ReadError(
                path: path, reason: "is \(size) bytes, more than the limit of \(limit)",
                isTooLarge: true)
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw FileBytes.ReadError(path: path, reason: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
        isMapped = true
        MappedFile.populate(bytes)
    }

    /// Maps every page of `bytes` ahead of use, in parts spread over the cores the dispatch
    /// pool has running (`MAP_POPULATE` would do it on one: 20-30 ms for a 260 MB corpus;
    /// at a run's start the pool often has only one thread up, so the gain varies). Where
    /// the kernel cannot, the pages are mapped as they are first read instead.
    private static func populate(_ bytes: UnsafeRawBufferPointer) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = (bytes.count + page - 1) / page
        let parts = (0..<pages).split(into: pages < 2048 ? 1 : 16)
        nonisolated(unsafe) let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress!)
        _ = parts.concurrentMap { part in
            // MADV_POPULATE_READ (Linux 5.14); not in every Glibc's headers.
            madvise(base + part.lowerBound * page, part.count * page, 22)
        }
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
        } else {
            UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
        }
    }
}
