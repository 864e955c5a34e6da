import InlineLBCore

/// What an apply leaves in its output folder (`apply-index.bin`) for the next apply to
/// re-plan only the VPCs an edit touches: the corpus's layout; the digest, counters and
/// appliance chunks of the state it wrote; where each VPC's chunk lies in
/// `topology.json`; and every tier's pool usage.
///
/// The layout's columns are kept in pages (`.apply-index/<XXH3-64>.bin`), runs of segments
/// cut where a segment's digest has its low bits set, so that an edit changes only the
/// pages around it: the others keep their bytes and names and are linked, not rewritten.
/// The pages hold segment lengths, not offsets, for the same reason.
///
/// Binary files in this machine's byte order: the root ends with the XXH3-64 of what
/// precedes it, a page is named after its own; anything unexpected reads as no index
/// (and the apply compiles the whole corpus).
struct ApplyIndex: Equatable {
    /// The file's name in the output folder.
    static let fileName = "apply-index.bin"
    /// The file's first bytes.
    static let magic = Array("inlinelb-apply-index/2\n".utf8)

    /// One appliance of the state the apply wrote.
    struct Appliance: Equatable {
        /// Its chunk in `state.json`.
        var chunk: Range<Int>
        /// The position of its VPC in the corpus.
        var vpc: Int32
        var linkLocalIP: IPv4Address
        var isRunning: Bool
        var mappings: Int
    }

    /// The layout of the corpus the apply read.
    var layout: CorpusLayout
    /// XXH3-128 (hex) of the `state.json` the apply wrote.
    var stateDigest: String
    /// That state's counters.
    var nextApplianceNumber: Int
    var nextMappingNumber: Int
    /// That state's appliances, in order.
    var appliances: [Appliance]
    /// Each VPC's chunk in `topology.json`, by VPC position.
    var topologyChunks: [Range<Int>]
    /// The pool usage of every tier that has a pool, in corpus order.
    var pools: [PoolUsage]

    /// The layout, which the index no longer holds (an empty one takes its place), so that
    /// whoever takes it can change it without copying it.
    mutating func takeLayout() -> CorpusLayout {
        defer { layout = CorpusLayout() }
        return layout
    }

    /// The folder of the layout's pages in the output (hidden: no VPC id starts with a dot,
    /// so it never meets a VPC's folder).
    static let pageFolder = ".apply-index"

    /// The index as output files, the root first, all caches. A page is named after its
    /// XXH3-64, digested from the layout's columns without encoding the page: one that
    /// `previous` holds already is kept from it (an edit changes the pages around it only),
    /// and only the others are encoded.
    func files(keeping previous: PreviousOutput?) -> [OutputFile] {
        let layout = self.layout
        let ranges = ApplyIndex.pageRanges(of: layout)
        let named = ranges.concurrentMap { segments in
            let artifact = ApplyIndex.pageArtifact(segments, of: layout)
            let name = Digest.hex(artifact.xxh3)
            let path = ApplyIndex.pagePath(name)
            let file =
                previous?.reuse(path, holding: artifact)
                ?? OutputFile(
                    path: path, bytes: ApplyIndex.page(segments, of: layout), isCache: true)
            return (name: name, file: file)
        }
        let names = named.map(\.name)
        var out = BinaryOutput()
        out.bytes += ApplyIndex.magic
        out.append(text: stateDigest)
        out.append(UInt64(nextApplianceNumber))
        out.append(UInt64(nextMappingNumber))
        out.append(array: appliances.map { UInt64($0.chunk.lowerBound) })
        out.append(array: appliances.map { UInt64($0.chunk.upperBound) })
        out.append(array: appliances.map(\.vpc))
        out.append(array: appliances.map(\.linkLocalIP.value))
        out.append(array: appliances.map { UInt8($0.isRunning ? 1 : 0) })
        out.append(array: appliances.map { UInt64($0.mappings) })
        out.append(UInt64(layout.fileSize))
        out.append(UInt64(layout.memberKeys.count))
        for key in layout.memberKeys { out.append(text: key) }
        out.append(UInt64(names.count))
        for name in names { out.append(text: name) }
        out.append(array: ranges.map { UInt64($0.count) })
        out.append(array: topologyChunks.map { UInt64($0.lowerBound) })
        out.append(array: topologyChunks.map { UInt64($0.upperBound) })
        out.append(UInt64(pools.count))
        for pool in pools {
            out.append(text: pool.name)
            out.append(UInt64(pool.first.value))
            out.append(UInt64(pool.last.value))
            out.append(UInt64(pool.capacity))
            out.append(UInt64(pool.free))
        }
        out.append(Digest.xxh3(out.bytes))
        return [OutputFile(path: ApplyIndex.fileName, bytes: out.bytes, isCache: true)]
            + named.map(\.file)
    }

    /// The path of the page named `name` in the output.
    static func pagePath(_ name: String) -> String {
        pageFolder + "/" + name + ".bin"
    }

    /// The segments of each page of `layout`. A page ends after a segment whose digest has
    /// its low bits all set (about 64 pages in all, whatever the size), or at 65,536
    /// segments.
    static func pageRanges(of layout: CorpusLayout) -> [Range<Int>] {
        var span = 256
        while span < layout.count / 64 { span *= 2 }
        let mask = UInt64(span - 1)
        var pages: [Range<Int>] = []
        var start = 0
        for index in 0..<layout.count
        where layout.hashes[index] & mask == mask || index + 1 - start == 65536
            || index == layout.count - 1
        {
            pages.append(start..<index + 1)
            start = index + 1
        }
        return pages
    }

    /// Passes the page of `segments` to `write`, piece by piece: each column as its count
    /// and its values (lengths, hashes, tags, VPCs, keys, extras).
    private static func writePage(
        _ segments: Range<Int>, of layout: CorpusLayout,
        to write: (UnsafeRawBufferPointer) -> Void
    ) {
        func column<Value>(_ values: ArraySlice<Value>) {
            withUnsafeBytes(of: UInt64(values.count)) { write($0) }
            values.withUnsafeBytes { write($0) }
        }
        column(segments.map { UInt32(layout.range($0).count) }[...])
        column(layout.hashes[segments])
        column(layout.tags[segments])
        column(layout.vpcs[segments])
        column(layout.keys[segments])
        column(layout.extras[segments])
    }

    /// The size of the page of `segments`.
    private static func pageSize(_ segments: Range<Int>) -> Int {
        columnWidths.count * 8 + segments.count * columnWidths.reduce(0, +)
    }

    /// The page of `segments`.
    static func page(_ segments: Range<Int>, of layout: CorpusLayout) -> [UInt8] {
        var page: [UInt8] = []
        page.reserveCapacity(pageSize(segments))
        writePage(segments, of: layout) { page += $0 }
        return page
    }

    /// The size and XXH3-64 of ``page(_:of:)``, digested from the columns in place.
    static func pageArtifact(_ segments: Range<Int>, of layout: CorpusLayout)
        -> OutputFile.Artifact
    {
        OutputFile.Artifact(
            bytes: pageSize(segments),
            xxh3: Digest.xxh3 { writePage(segments, of: layout, to: $0) })
    }

    /// Creates an index.
    init(
        layout: CorpusLayout, state: StateDocument, counters: DeploymentState,
        appliances: [Appliance], topologyChunks: [Range<Int>], pools: [PoolUsage]
    ) {
        self.layout = layout
        stateDigest = Digest.hex(Digest.xxh3Wide(parts: state.parts))
        nextApplianceNumber = counters.nextApplianceNumber
        nextMappingNumber = counters.nextMappingNumber
        self.appliances = zip(appliances, state.appliances).map { appliance, chunk in
            var appliance = appliance
            appliance.chunk = chunk
            return appliance
        }
        self.topologyChunks = topologyChunks
        self.pools = pools
    }

    /// Reads an index back from its root's bytes and the pages in `pages`; nil unless all
    /// are whole and intact.
    init?(root bytes: [UInt8], pages: PageSource) {
        guard bytes.count >= ApplyIndex.magic.count + 8,
            bytes.starts(with: ApplyIndex.magic),
            bytes.withUnsafeBytes({ raw in
                Digest.xxh3(UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 8)]))
                    == raw.loadUnaligned(fromByteOffset: raw.count - 8, as: UInt64.self)
            })
        else { return nil }
        var input = BinaryInput(bytes: bytes, offset: ApplyIndex.magic.count)
        guard let stateDigest = input.text(), let nextAppliance = input.integer(),
            let nextMapping = input.integer(), let applianceStarts: [UInt64] = input.array(),
            let applianceEnds: [UInt64] = input.array(), let applianceVPCs: [Int32] = input.array(),
            let linkLocals: [UInt32] = input.array(), let running: [UInt8] = input.array(),
            let mappings: [UInt64] = input.array(),
            [
                applianceEnds.count, applianceVPCs.count, linkLocals.count, running.count,
                mappings.count,
            ]
            .allSatisfy({ $0 == applianceStarts.count }),
            let fileSize = input.integer(), let memberCount = input.integer()
        else { return nil }
        var keys: [String] = []
        for _ in 0..<min(memberCount, bytes.count) {
            guard let key = input.text() else { return nil }
            keys.append(key)
        }
        guard keys.count == memberCount, let pageCount = input.integer(),
            let layout = ApplyIndex.layout(
                fileSize: fileSize, memberKeys: keys, pages: pageCount, input: &input,
                source: pages),
            let chunkStarts: [UInt64] = input.array(), let chunkEnds: [UInt64] = input.array(),
            chunkStarts.count == chunkEnds.count,
            let poolCount = input.integer()
        else { return nil }
        var pools: [PoolUsage] = []
        for _ in 0..<min(poolCount, bytes.count) {
            guard let name = input.text(), let first = input.integer(), let last = input.integer(),
                let capacity = input.integer(), let free = input.integer(),
                let firstValue = UInt32(exactly: first), let lastValue = UInt32(exactly: last)
            else { return nil }
            pools.append(
                PoolUsage(
                    name: name, first: IPv4Address(firstValue), last: IPv4Address(lastValue),
                    capacity: capacity, free: free))
        }
        guard pools.count == poolCount, input.offset == bytes.count - 8 else { return nil }
        self.layout = layout
        self.stateDigest = stateDigest
        nextApplianceNumber = nextAppliance
        nextMappingNumber = nextMapping
        appliances = (0..<applianceStarts.count).map {
            Appliance(
                chunk: Int(applianceStarts[$0])..<Int(max(applianceStarts[$0], applianceEnds[$0])),
                vpc: applianceVPCs[$0], linkLocalIP: IPv4Address(linkLocals[$0]),
                isRunning: running[$0] != 0, mappings: Int(mappings[$0]))
        }
        topologyChunks = zip(chunkStarts, chunkEnds).map { Int($0)..<Int(max($0, $1)) }
        self.pools = pools
    }

    /// Where ``init(root:pages:)`` reads the pages: a page's size (nil when it is
    /// missing), and its bytes from an offset copied into buffers, one after another (false
    /// when they cannot all be).
    struct PageSource: Sendable {
        var size: @Sendable (_ path: String) -> Int?
        var read:
            @Sendable (_ path: String, _ offset: Int, _ into: [UnsafeMutableRawBufferPointer])
                -> Bool

        /// The pages in the output folder `folder`.
        static func folder(_ folder: String) -> PageSource {
            PageSource(
                size: { FileBytes.size(of: folder + "/" + $0) },
                read: { FileBytes.read(folder + "/" + $0, at: $1, into: $2) })
        }
    }

    /// The widths of a page's columns' values, in the order they are written: lengths,
    /// hashes, tags, VPCs, keys and extras.
    private static let columnWidths = [4, 8, 1, 4, 8, 4]

    /// The layout from the pages named next in `input` (`pages` names, then their segment
    /// counts), each checked against its name; nil when one is missing, damaged or does
    /// not add up to `fileSize`.
    ///
    /// Each column is read from the pages straight into its place in the layout, on all
    /// cores: no page is held in memory whole (a million-rule corpus has 33 MB of them).
    private static func layout(
        fileSize: Int, memberKeys: [String], pages: Int, input: inout BinaryInput,
        source: PageSource
    ) -> CorpusLayout? {
        var names: [String] = []
        for _ in 0..<min(pages, input.bytes.count) {
            guard let name = input.text() else { return nil }
            names.append(name)
        }
        guard let counts: [UInt64] = input.array(), counts.count == names.count,
            counts.allSatisfy({ (1...65536).contains($0) })
        else { return nil }
        let paths = names.map(pagePath)
        let ranges = counts.reduce(into: [0..<0]) {
            $0.append($0.last!.upperBound..<$0.last!.upperBound + Int($1))
        }.dropFirst()
        let count = ranges.last?.upperBound ?? 0
        guard count > 0, fileSize < Int(UInt32.max),
            zip(paths, ranges).allSatisfy({ source.size($0) == pageSize($1) })
        else { return nil }
        /// Column `column` of every page, end to end; nil when a page cannot be read.
        func joined<Value: FixedWidthInteger>(_ column: Int) -> [Value]? {
            var complete = false
            let values = [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
                nonisolated(unsafe) let buffer = UnsafeMutableRawBufferPointer(buffer)
                let width = MemoryLayout<Value>.stride
                let read = Array(zip(paths, ranges)).concurrentMap { path, segments in
                    // The column's count and values, past the columns before it.
                    let offset = 8 * column + columnWidths[..<column].reduce(0, +) * segments.count
                    var count: [UInt64] = [0]
                    let values = UnsafeMutableRawBufferPointer(
                        rebasing: buffer[segments.lowerBound * width..<segments.upperBound * width])
                    return count.withUnsafeMutableBytes { source.read(path, offset, [$0, values]) }
                        && count[0] == segments.count
                }
                complete = read.allSatisfy { $0 }
                initialized = complete ? count : 0
            }
            return complete ? values : nil
        }
        guard var starts: [UInt32] = joined(0), let hashes: [UInt64] = joined(1),
            let tags: [UInt8] = joined(2), let vpcs: [Int32] = joined(3),
            let keys: [UInt64] = joined(4), let extras: [UInt32] = joined(5)
        else { return nil }
        // The pages hold lengths; the layout, starts: each page's total first, then each
        // page's lengths turned into starts in place.
        let sizes = starts.withUnsafeBufferPointer { lengths in
            nonisolated(unsafe) let lengths = lengths
            return Array(ranges).concurrentMap { segments in
                segments.reduce(0) { $0 + Int(lengths[$1]) }
            }
        }
        let offsets = sizes.reduce(into: [0]) { $0.append($0.last! + $1) }
        guard offsets.last! == fileSize else { return nil }
        starts.withUnsafeMutableBufferPointer { starts in
            nonisolated(unsafe) let starts = starts
            _ = Array(zip(ranges, offsets)).concurrentMap { segments, offset in
                var start = offset
                for segment in segments {
                    let length = Int(starts[segment])
                    starts[segment] = UInt32(truncatingIfNeeded: start)
                    start += length
                }
            }
        }
        let layout = CorpusLayout(
            fileSize: fileSize, memberKeys: memberKeys, starts: starts, hashes: hashes,
            tags: tags, vpcs: vpcs, keys: keys, extras: extras)
        // Each page checked against its name, digested from the columns as it was written.
        let intact = Array(zip(names, ranges)).concurrentMap { name, segments in
            Digest.hex(pageArtifact(segments, of: layout).xxh3) == name
        }
        return intact.allSatisfy { $0 } ? layout : nil
    }
}

/// Appends integers, arrays of them and strings in this machine's byte order.
private struct BinaryOutput {
    var bytes: [UInt8] = []

    mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }

    mutating func append<Element: FixedWidthInteger>(array: [Element]) {
        append(UInt64(array.count))
        array.withUnsafeBytes { bytes += $0 }
    }

    mutating func append(text: String) {
        append(array: Array(text.utf8))
    }
}

/// Reads what ``BinaryOutput`` wrote; every read is checked against the end.
private struct BinaryInput {
    let bytes: [UInt8]
    var offset: Int

    mutating func integer() -> Int? {
        guard offset + 8 <= bytes.count else { return nil }
        let value = bytes.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
        offset += 8
        return Int(exactly: value)
    }

    /// The count of an array of `stride`-byte values and the offset of its first, which
    /// the input moves past.
    mutating func region(stride: Int) -> (count: Int, start: Int)? {
        guard let count = integer() else { return nil }
        let size = count.multipliedReportingOverflow(by: stride)
        guard !size.overflow, offset + size.partialValue <= bytes.count else { return nil }
        defer { offset += size.partialValue }
        return (count, offset)
    }

    mutating func array<Element: FixedWidthInteger>() -> [Element]? {
        let stride = MemoryLayout<Element>.stride
        guard let (count, start) = region(stride: stride) else { return nil }
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[start..<start + count * stride]))
            }
            initialized = count
        }
    }

    mutating func text() -> String? {
        guard let utf8: [UInt8] = array() else { return nil }
        return String(validating: utf8, as: UTF8.self)
    }
}

extension ApplyIndex.Appliance {
    /// The entry of `record`, in the VPC at `vpc`; its chunk is set by the index.
    init(_ record: ApplianceRecord, vpc: Int) {
        self.init(
            chunk: 0..<0, vpc: Int32(vpc), linkLocalIP: record.linkLocalIP,
            isRunning: record.state == .running, mappings: record.mappings.count)
    }
}
