import InlineLBCore

/// An edit of a corpus file, found against the ``CorpusLayout`` of the version the last
/// apply read, and the corpus that re-plans it: the global members plus every entity of
/// the VPCs the edit touches (its scope).
///
/// Finding the edit reads no unchanged entity. Segments are matched by digest from the
/// start of the file at their old offsets and from the end at offsets moved by the change
/// in size; what lies between must be whole elements of one per-VPC section other than
/// `vpcs`. Only those are decoded, to learn their VPCs; then the scope's entities are
/// validated as a corpus of their own.
///
/// That corpus plans exactly as the whole file would, because a valid corpus whose
/// entities each belong to one VPC has no check across VPCs but the uniqueness of ids and
/// public addresses, which are checked here for the new entities against all others.
/// Anything else (an edit of the global members or of `vpcs`, an entity referring to
/// another VPC or to nothing, a scope that does not validate) refuses, with the reason,
/// and the caller compiles the whole file. Segments are compared by XXH3-64: an edit that
/// keeps a segment's digest (odds of 2^-64) would go unseen.
struct CorpusEdit {
    /// Why an edit cannot be applied on its own.
    struct Refusal: Error, Sendable {
        var reason: String
    }

    /// The layout of the edited file.
    let layout: CorpusLayout
    /// The positions of the VPCs the edit touches, ascending.
    let scope: [Int]
    /// By VPC position (up to the last in the scope): whether it is in the scope.
    private let inScope: [Bool]
    /// The ids of those VPCs.
    let scopeIDs: Set<String>
    /// The global members and the scope's entities, validated.
    let corpus: ValidatedCorpus
    /// The section of the changed elements, when some changed.
    let section: CorpusLayout.Section?

    /// Finds the edit from `previous` to `bytes` and validates its scope. `previous` is
    /// relaid in place when nothing else holds its columns.
    init(previous: consuming CorpusLayout, bytes: UnsafeRawBufferPointer, file: String)
        throws(Refusal)
    {
        guard bytes.count < Int(UInt32.max) else { throw Refusal(reason: "the file is too large") }
        let change = CorpusEdit.change(previous, bytes)
        var scope = Set(change.replaced.map { Int(previous[entity: $0].vpc) })
        var layout: CorpusLayout
        var section: CorpusLayout.Section?
        var middle: [Int] = []
        if !change.isNone {
            let found = try CorpusEdit.section(of: change, in: previous)
            section = found
            let starts = try CorpusEdit.elementStarts(
                change, in: bytes, section: found, previous: previous)
            layout = CorpusEdit.relaid(
                consume previous, change, starts, section: found, bytes: bytes)
            middle = Array(change.replaced.lowerBound..<change.replaced.lowerBound + starts.count)
            try CorpusEdit.resolveEntities(middle, in: &layout, section: found, bytes: bytes)
        } else {
            layout = consume previous
        }
        for index in middle { scope.insert(Int(layout[entity: index].vpc)) }
        var inScope = [Bool](repeating: false, count: (scope.max() ?? -1) + 1)
        for vpc in scope { inScope[vpc] = true }
        if let section {
            try CorpusEdit.checkUnique(middle, of: section, in: layout, inScope: inScope)
        }
        let (text, included) = CorpusEdit.scopeCorpus(layout, inScope: inScope, bytes: bytes)
        self.inScope = inScope
        let corpus: ValidatedCorpus
        do {
            corpus = try CorpusValidator.load(file: file, bytes: text)
        } catch {
            throw Refusal(reason: "the edited VPCs do not validate on their own")
        }
        let sorted = scope.sorted()
        guard let entities = CorpusLayout.entities(of: corpus) else {
            throw Refusal(reason: "an edited entity refers to two VPCs")
        }
        for (section, indices) in included.enumerated() {
            for (entity, index) in zip(entities[section], indices) {
                var entity = entity
                entity.vpc = Int32(sorted[Int(entity.vpc)])
                layout[entity: index] = entity
            }
        }
        self.layout = layout
        self.scope = sorted
        self.scopeIDs = Set(corpus.corpus.vpcs.map(\.id))
        self.corpus = corpus
        self.section = section
    }

    /// Whether the VPC at `vpc` is in the scope.
    func covers(_ vpc: Int32) -> Bool {
        CorpusEdit.contains(inScope, vpc)
    }

    /// The position in the whole corpus of the scope's VPC with `id`.
    func position(ofVPC id: String) -> Int {
        scope[corpus.vpcIndex[id]!]
    }

    // MARK: - Finding the change

    /// The segments of the previous layout that changed and the bytes that replace them.
    struct Change {
        /// Segment indices of the previous layout.
        var replaced: Range<Int>
        /// The new bytes in their place.
        var bytes: Range<Int>
        /// New size minus old size: how far the unchanged segments after the change moved.
        var shift: Int

        var isNone: Bool { replaced.isEmpty && bytes.isEmpty }
    }

    /// Matches segments by digest from the start, then from the end, on all cores.
    static func change(_ previous: CorpusLayout, _ bytes: UnsafeRawBufferPointer) -> Change {
        let count = previous.count
        let shift = bytes.count - previous.fileSize
        nonisolated(unsafe) let bytes = bytes
        @Sendable func matches(_ index: Int, movedBy offset: Int) -> Bool {
            let lower = Int(previous.starts[index]) + offset
            let upper =
                index + 1 < count ? Int(previous.starts[index + 1]) + offset : bytes.count
            guard lower >= 0, lower <= upper, upper <= bytes.count else { return false }
            return Digest.xxh3(UnsafeRawBufferPointer(rebasing: bytes[lower..<upper]))
                == previous.hashes[index]
        }
        guard let prefix = (0..<count).firstFailure({ matches($0, movedBy: 0) }) else {
            return Change(replaced: count..<count, bytes: bytes.count..<bytes.count, shift: shift)
        }
        let changeStart = Int(previous.starts[prefix])
        // Only segments that start at or after the change once moved can match from the end.
        var lowest = prefix
        var above = count
        while lowest < above {
            let middle = (lowest + above) / 2
            if Int(previous.starts[middle]) + shift >= changeStart {
                above = middle
            } else {
                lowest = middle + 1
            }
        }
        let suffix =
            (lowest..<count).firstFailure(fromEnd: true) { matches($0, movedBy: shift) }
            .map { $0 + 1 } ?? lowest
        let changeEnd = suffix < count ? Int(previous.starts[suffix]) + shift : bytes.count
        return Change(
            replaced: prefix..<suffix, bytes: changeStart..<max(changeStart, changeEnd),
            shift: shift)
    }

    /// The section whose elements the change replaces or adds to.
    static func section(of change: Change, in previous: CorpusLayout) throws(Refusal)
        -> CorpusLayout.Section
    {
        let tags = Set(previous.tags[change.replaced])
        let tag: UInt8
        if let only = tags.first {
            guard tags.count == 1, only != CorpusLayout.memberTag else {
                throw Refusal(reason: "the edit reaches beyond the elements of one section")
            }
            tag = only
        } else {
            // Elements inserted after segment `before`: an element or a section's opening.
            let before = change.replaced.lowerBound - 1
            guard before > 0 else { throw Refusal(reason: "the edit is in the file's opening") }
            if previous.tags[before] != CorpusLayout.memberTag {
                tag = previous.tags[before]
            } else {
                let member = previous.tags[1...before].count { $0 == CorpusLayout.memberTag } - 1
                guard let section = CorpusLayout.Section(key: previous.memberKeys[member]) else {
                    throw Refusal(reason: "the edit is outside the per-VPC sections")
                }
                tag = section.rawValue
            }
        }
        let section = CorpusLayout.Section(rawValue: tag)!
        guard section != .vpcs else { throw Refusal(reason: "the edit changes the VPCs") }
        return section
    }

    /// The new offsets of the elements in the changed bytes.
    ///
    /// The bytes must start with an element and end with the separator the replaced
    /// segments ended with: a comma when an element of the section follows, else the
    /// section's closing bracket and what follows it up to the next member (or the end).
    static func elementStarts(
        _ change: Change, in bytes: UnsafeRawBufferPointer, section: CorpusLayout.Section,
        previous: CorpusLayout
    ) throws(Refusal) -> [Int] {
        let next = change.replaced.upperBound
        let elementFollows = next < previous.count && previous.tags[next] == section.rawValue
        let range = change.bytes
        guard !range.isEmpty else {
            guard elementFollows else { throw Refusal(reason: "the edit empties a section") }
            return []
        }
        guard bytes[range.lowerBound] == UInt8(ascii: "{") else {
            throw Refusal(reason: "the edit does not start at an element")
        }
        var end = trimmingSpace(bytes, range.lowerBound, range.upperBound)
        func expect(_ byte: Unicode.Scalar) throws(Refusal) {
            guard end > range.lowerBound, bytes[end - 1] == UInt8(ascii: byte) else {
                throw Refusal(reason: "the edit does not end between elements")
            }
            end = trimmingSpace(bytes, range.lowerBound, end - 1)
        }
        if elementFollows {
            try expect(",")
        } else {
            try expect(next < previous.count ? "," : "}")
            try expect("]")
        }
        let wrapped = [UInt8(ascii: "[")] + bytes[range.lowerBound..<end] + [UInt8(ascii: "]")]
        guard let root = try? JSONReader.parse(wrapped), root.kind == .array else {
            throw Refusal(reason: "the edited elements are not well-formed JSON")
        }
        var starts: [Int] = []
        for element in root.elements {
            guard element.kind == .object else {
                throw Refusal(reason: "an edited element is not an object")
            }
            starts.append(range.lowerBound + element.offset - 1)
        }
        return starts
    }

    /// `previous` with the replaced segments swapped for elements starting at `starts`,
    /// the segments after them moved, and the new segments hashed (their entities are
    /// resolved next).
    static func relaid(
        _ previous: consuming CorpusLayout, _ change: Change, _ starts: [Int],
        section: CorpusLayout.Section, bytes: UnsafeRawBufferPointer
    ) -> CorpusLayout {
        var layout = consume previous
        let replaced = change.replaced
        let added = replaced.lowerBound..<replaced.lowerBound + starts.count
        layout.fileSize = bytes.count
        layout.starts.replaceSubrange(replaced, with: starts.map { UInt32($0) })
        if change.shift != 0 {
            for index in added.upperBound..<layout.count {
                layout.starts[index] = UInt32(Int(layout.starts[index]) + change.shift)
            }
        }
        layout.tags.replaceSubrange(
            replaced, with: repeatElement(section.rawValue, count: starts.count))
        layout.vpcs.replaceSubrange(replaced, with: repeatElement(-1, count: starts.count))
        layout.keys.replaceSubrange(replaced, with: repeatElement(0, count: starts.count))
        layout.extras.replaceSubrange(replaced, with: repeatElement(0, count: starts.count))
        layout.hashes.replaceSubrange(
            replaced, with: CorpusLayout.hashes(of: added, in: layout, bytes: bytes))
        return layout
    }

    /// Decodes the new elements at `indices` and records their VPC, id and extra; refuses
    /// when one refers to something unknown or to two VPCs.
    static func resolveEntities(
        _ indices: [Int], in layout: inout CorpusLayout, section: CorpusLayout.Section,
        bytes: UnsafeRawBufferPointer
    ) throws(Refusal) {
        var text = Array("{\"format\": \"\(CorpusDecoder.format)\", \"name\": \"edit\", ".utf8)
        text += Array("\"\(section.key)\": [".utf8)
        for (position, index) in indices.enumerated() {
            if position > 0 { text.append(UInt8(ascii: ",")) }
            text += bytes[entityText(index, in: layout, bytes: bytes)]
        }
        text += Array("]}".utf8)
        let model: Corpus
        do {
            model = try CorpusDecoder.decode(try CorpusSource(file: "edit", bytes: text))
        } catch {
            throw Refusal(reason: "an edited element does not decode")
        }
        // Each element's id, the ids it refers to (by section) and its extra.
        typealias Reference = (id: String, section: CorpusLayout.Section)
        var elements: [(id: String?, references: [Reference], extra: UInt32)] = []
        switch section {
        case .vpcs: break
        case .networks:
            elements = model.networks.map { ($0.id, [($0.vpcID, .vpcs)], 0) }
        case .virtualMachines:
            elements = model.virtualMachines.map { vm in
                (vm.id, vm.nics.map { ($0.networkID, .networks) }, 0)
            }
        case .publicIPAddresses:
            elements = model.publicIPAddresses.map { ip in
                let vm = ip.virtualMachineID.map { [($0, CorpusLayout.Section.virtualMachines)] }
                return (ip.id, [(ip.vpcID, .vpcs)] + (vm ?? []), ip.ipAddress.value)
            }
        case .loadBalancerRules:
            elements = model.loadBalancerRules.map { rule in
                (
                    rule.id,
                    [(rule.networkID, .networks), (rule.publicIPID, .publicIPAddresses)],
                    rule.isActive ? 1 : 0
                )
            }
        case .portForwardingRules:
            elements = model.portForwardingRules.map { rule in
                (
                    rule.id,
                    [
                        (rule.ipAddressID, .publicIPAddresses),
                        (rule.virtualMachineID, .virtualMachines),
                    ],
                    0
                )
            }
        case .applianceIntents:
            elements = model.applianceIntents.map { (nil, [($0.networkID, .networks)], 0) }
        }
        guard elements.count == indices.count else {
            throw Refusal(reason: "the edited elements do not decode one to one")
        }
        let lookup = VPCLookup(layout: layout, wanted: elements.flatMap(\.references))
        for (index, element) in zip(indices, elements) {
            let vpcs = element.references.map { lookup.vpc($0.id, in: $0.section) }
            guard let vpc = vpcs.first ?? nil, vpcs.allSatisfy({ $0 == vpc }) else {
                throw Refusal(
                    reason: "an edited \(section.key) element refers to another VPC or to nothing")
            }
            layout[entity: index] = CorpusLayout.Entity(
                vpc: vpc, key: element.id.map { Digest.xxh3($0) } ?? 0, extra: element.extra)
        }
    }

    /// The VPCs of the entities that edited elements refer to, by id, from the digests of
    /// the unchanged sections.
    struct VPCLookup {
        /// By section tag: the VPC of each wanted id digest found.
        private var maps = [UInt64Map<Int32>?](repeating: nil, count: 256)

        /// Finds the entities `wanted` in `layout`, in one pass over its columns: only the
        /// few ids an edit refers to are looked for, not every id indexed.
        init(layout: CorpusLayout, wanted: [(id: String, section: CorpusLayout.Section)]) {
            var sections = [Bool](repeating: false, count: 256)
            var ids = UInt64Map<Bool>(capacity: wanted.count)
            for (id, section) in wanted {
                sections[Int(section.rawValue)] = true
                ids.set(true, for: Digest.xxh3(id))
                maps[Int(section.rawValue)] = UInt64Map()
            }
            // An id wanted in one section and found in another is recorded there too: it
            // is never asked for there, and if it were, its VPC would be right.
            for index in 0..<layout.count {
                let tag = Int(layout.tags[index])
                guard sections[tag], ids[layout.keys[index]] != nil else { continue }
                maps[tag]!.set(layout.vpcs[index], for: layout.keys[index])
            }
        }

        /// The VPC of the entity of `section` with `id`; nil when there is none (or it was
        /// not wanted).
        func vpc(_ id: String, in section: CorpusLayout.Section) -> Int32? {
            maps[Int(section.rawValue)]?[Digest.xxh3(id)]
        }
    }

    /// Refuses when a new element's id, or a new public IP's address, is also held by an
    /// element outside the scope (inside it, validation sees both).
    static func checkUnique(
        _ indices: [Int], of section: CorpusLayout.Section, in layout: CorpusLayout,
        inScope: [Bool]
    ) throws(Refusal) {
        guard !indices.isEmpty, section != .applianceIntents else { return }
        var ids = UInt64Map<Bool>(capacity: indices.count)
        var addresses = UInt64Map<Bool>(capacity: indices.count)
        for index in indices {
            ids.set(true, for: layout[entity: index].key)
            addresses.set(true, for: UInt64(layout[entity: index].extra))
        }
        let (newIDs, newAddresses) = (ids, addresses)
        // On all cores (a million-rule corpus has a million rules to look at); the first
        // conflict in corpus order is the one reported.
        let conflicts = (0..<layout.count).split(into: 16).concurrentMap { part -> String? in
            for index in part where layout.tags[index] == section.rawValue {
                let entity = layout[entity: index]
                guard !CorpusEdit.contains(inScope, entity.vpc) else { continue }
                if newIDs[entity.key] != nil { return "a new id may be taken in another VPC" }
                if section == .publicIPAddresses && newAddresses[UInt64(entity.extra)] != nil {
                    return "a new public address may be taken in another VPC"
                }
            }
            return nil
        }
        if let reason = conflicts.lazy.compactMap({ $0 }).first { throw Refusal(reason: reason) }
    }

    /// Whether `vpc` is marked in `inScope`.
    static func contains(_ inScope: [Bool], _ vpc: Int32) -> Bool {
        vpc >= 0 && Int(vpc) < inScope.count && inScope[Int(vpc)]
    }

    // MARK: - The scope's corpus

    /// The global members and the scope's elements as a corpus file, and for each section
    /// the segments its elements came from.
    static func scopeCorpus(
        _ layout: CorpusLayout, inScope: [Bool], bytes: UnsafeRawBufferPointer
    ) -> (text: [UInt8], included: [[Int]]) {
        var included = [[Int]](repeating: [], count: CorpusLayout.Section.allCases.count)
        var text: [UInt8] = [UInt8(ascii: "{")]
        var member = 0
        var open = false
        var firstElement = true
        for index in 1..<max(1, layout.count) {
            let tag = layout.tags[index]
            if tag == CorpusLayout.memberTag {
                if open { text.append(UInt8(ascii: "]")) }
                if member > 0 { text.append(UInt8(ascii: ",")) }
                let key = layout.memberKeys[member]
                member += 1
                open = CorpusLayout.Section(key: key) != nil
                if open {
                    text += Array("\"\(key)\": [".utf8)
                    firstElement = true
                } else {
                    text += bytes[memberText(index, in: layout, bytes: bytes)]
                }
            } else if CorpusEdit.contains(inScope, layout[entity: index].vpc) {
                if !firstElement { text.append(UInt8(ascii: ",")) }
                firstElement = false
                text += bytes[entityText(index, in: layout, bytes: bytes)]
                included[Int(tag)].append(index)
            }
        }
        if open { text.append(UInt8(ascii: "]")) }
        text.append(UInt8(ascii: "}"))
        return (text, included)
    }

    /// The bytes of element segment `index` without the separator after it.
    static func entityText(_ index: Int, in layout: CorpusLayout, bytes: UnsafeRawBufferPointer)
        -> Range<Int>
    {
        let range = layout.range(index)
        var end = trimmedSeparator(index, in: layout, bytes: bytes)
        if end > range.lowerBound && bytes[end - 1] == UInt8(ascii: "]") {
            end = trimmingSpace(bytes, range.lowerBound, end - 1)
        }
        return range.lowerBound..<end
    }

    /// The bytes of member segment `index` (name, colon and value) without the separator.
    static func memberText(_ index: Int, in layout: CorpusLayout, bytes: UnsafeRawBufferPointer)
        -> Range<Int>
    {
        layout.range(index).lowerBound..<trimmedSeparator(index, in: layout, bytes: bytes)
    }

    /// The end of segment `index` before the space and comma after its entity (or, for the
    /// last segment, before the document's closing brace).
    private static func trimmedSeparator(
        _ index: Int, in layout: CorpusLayout, bytes: UnsafeRawBufferPointer
    )
        -> Int
    {
        let range = layout.range(index)
        var end = trimmingSpace(bytes, range.lowerBound, range.upperBound)
        if index == layout.count - 1 && end > range.lowerBound
            && bytes[end - 1] == UInt8(ascii: "}")
        {
            end = trimmingSpace(bytes, range.lowerBound, end - 1)
        }
        if end > range.lowerBound && bytes[end - 1] == UInt8(ascii: ",") {
            end = trimmingSpace(bytes, range.lowerBound, end - 1)
        }
        return end
    }

    /// `end` moved back over JSON white space, not below `start`.
    private static func trimmingSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int)
        -> Int
    {
        var end = end
        while end > start,
            bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D
                || bytes[end - 1] == 0x09
        {
            end -= 1
        }
        return end
    }
}
