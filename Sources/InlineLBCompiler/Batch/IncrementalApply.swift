import InlineLBCore

/// An apply that re-plans and re-renders only the VPCs an edit touches (``CorpusEdit``),
/// and takes everything else from the previous output: its files, its `topology.json`
/// chunks, its pool usages and its appliances' input digests.
///
/// It needs the previous output's `apply-index.bin` and the state file that apply wrote;
/// its output is byte for byte the output of a full apply (the incremental tests compare
/// them after every kind of edit).
public struct IncrementalApply {
    /// Why an apply compiles the whole corpus instead.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// What stood in the way.
        public var reason: String
        public var description: String { reason }
    }

    /// The output.
    public let compilation: Compilation
    /// How many VPCs were re-planned.
    public let replannedVPCs: Int
    /// How many VPCs the corpus has.
    public let vpcs: Int
    /// The corpus member whose elements the edit changed, if any changed.
    public let editedSection: String?

    /// Applies the corpus file's bytes (typically mapped: only the edited VPCs are read
    /// closely) against the state file's bytes, which must be what the apply that left
    /// `previous` wrote (then only the re-planned appliances are decoded).
    public init(
        corpusFile: String, corpusBytes: UnsafeRawBufferPointer, stateBytes: [UInt8],
        previous: PreviousOutput
    ) throws(Refusal) {
        // The manifest's digest of the whole corpus file is computed beside the rest: on
        // one core it takes as long as finding the edit on two.
        nonisolated(unsafe) let corpus = corpusBytes
        let inputDigest = Pending { Digest.xxh3(corpus) }
        // Never left reading bytes the caller may release after a refusal.
        defer { _ = inputDigest.value }
        guard let root = previous.listedBytes(of: ApplyIndex.fileName),
            var index = ApplyIndex(root: root, pages: .folder(previous.folder))
        else { throw Refusal(reason: "the previous output has no apply index") }
        guard index.stateDigest == Digest.hex(Digest.xxh3Wide(stateBytes)) else {
            throw Refusal(reason: "the state file is not the one the last apply wrote")
        }
        // The edit takes the index's layout over and relays it in place, instead of copying
        // its 33 MB of columns: nothing reads it from the index again.
        let layout = index.takeLayout()
        let edit: CorpusEdit
        do {
            edit = try CorpusEdit(previous: consume layout, bytes: corpusBytes, file: corpusFile)
        } catch {
            throw Refusal(reason: error.reason)
        }
        let (stored, elsewhere) = try IncrementalApply.storedAppliances(
            of: edit, index: index, stateBytes: stateBytes)
        let plan: Plan
        do {
            plan = try Planner.plan(
                state: stored, corpus: edit.corpus,
                linkLocalInUse: elsewhere.map { index.appliances[$0].linkLocalIP })
        } catch {
            throw Refusal(reason: "the edited VPCs do not plan: \(error.message)")
        }
        let units = Compilation.applianceUnits(edit.corpus, plan, previous: previous)
        let rendered =
            Compilation.routerFiles(edit.corpus, plan) + units.flatMap(\.files)
            + (try IncrementalApply.unchangedFiles(outside: edit.scopeIDs, previous: previous))
        let (chunks, entries, inputs) = try IncrementalApply.splicedAppliances(
            index: index, stored: stored, plan: plan, units: units, edit: edit,
            previous: previous, stateBytes: stateBytes)
        let topology = try IncrementalApply.topology(edit, plan, index: index, previous: previous)
        let pools = try IncrementalApply.pools(edit, plan, index: index)
        let stateDocument = StateDocument(
            nextApplianceNumber: plan.state.nextApplianceNumber,
            nextMappingNumber: plan.state.nextMappingNumber, appliances: chunks, pools: pools)
        let nextIndex = ApplyIndex(
            layout: edit.layout, state: stateDocument, counters: plan.state, appliances: entries,
            topologyChunks: topology.chunks, pools: pools.dropLast())
        var counts = IncrementalApply.counts(edit.layout)
        counts.appliances = entries.count
        counts.runningAppliances = entries.count(where: \.isRunning)
        counts.mappedPublicIPs = entries.reduce(0) { $0 + $1.mappings }
        compilation = Compilation(
            plan: plan, rendered: rendered, inputs: inputs, topology: topology.file,
            stateDocument: stateDocument.parts, counts: counts,
            corpusName: edit.corpus.corpus.name, inputFile: corpusFile,
            input: OutputFile.Artifact(bytes: corpusBytes.count, xxh3: inputDigest.value),
            previous: previous, index: nextIndex)
        replannedVPCs = edit.scope.count
        vpcs = index.topologyChunks.count
        editedSection = edit.section?.key
    }

    /// The previous output's files of the VPCs outside the scope, kept as they are.
    private static func unchangedFiles(outside scope: Set<String>, previous: PreviousOutput)
        throws(Refusal) -> [OutputFile]
    {
        let paths = previous.artifacts.keys.filter { path in
            guard let slash = path.utf8.firstIndex(of: UInt8(ascii: "/")) else { return false }
            let folder = String(path[..<slash])
            return folder != ApplyIndex.pageFolder && !scope.contains(folder)
        }
        guard let files = previous.reuse(paths) else {
            throw Refusal(reason: "the previous output is missing files")
        }
        return files
    }

    /// The new state's appliances in order, as `state.json` chunks, index entries and
    /// manifest inputs: the others' copied from the previous state and manifest, the
    /// scope's rendered (the kept ones where they were, the new ones at the end).
    private static func splicedAppliances(
        index: ApplyIndex, stored: DeploymentState, plan: Plan,
        units: [(folder: String, digest: String, files: [OutputFile])], edit: CorpusEdit,
        previous: PreviousOutput, stateBytes: [UInt8]
    ) throws(Refusal) -> (
        chunks: [ArraySlice<UInt8>], entries: [ApplyIndex.Appliance],
        inputs: [(unit: String, digest: String)]
    ) {
        guard previous.inputOrder.count == index.appliances.count else {
            throw Refusal(reason: "the previous manifest does not list the indexed appliances")
        }
        let planned = Dictionary(
            plan.state.appliances.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
        let storedNumbers = Set(stored.appliances.map(\.number))
        var storedInScope = stored.appliances.makeIterator()
        var digests: [String: String] = [:]
        for unit in units { digests[unit.folder] = unit.digest }
        var chunks: [ArraySlice<UInt8>] = []
        var entries: [ApplyIndex.Appliance] = []
        var inputs: [(unit: String, digest: String)] = []
        func add(_ record: ApplianceRecord) {
            let folder = Compilation.applianceFolder(record)
            chunks.append(StateDocument.chunk(of: record)[...])
            entries.append(ApplyIndex.Appliance(record, vpc: edit.position(ofVPC: record.vpcID)))
            inputs.append((folder, digests[folder]!))
        }
        for (position, entry) in index.appliances.enumerated() {
            if edit.covers(entry.vpc) {
                if let record = storedInScope.next().flatMap({ planned[$0.number] }) { add(record) }
            } else {
                let folder = previous.inputOrder[position]
                chunks.append(stateBytes[entry.chunk])
                entries.append(entry)
                inputs.append((folder, previous.inputs[folder]!))
            }
        }
        for record in plan.state.appliances where !storedNumbers.contains(record.number) {
            add(record)
        }
        return (chunks, entries, inputs)
    }

    /// The stored appliances of the edit's VPCs, read from their chunks of the state file,
    /// and the positions (in the index) of the others.
    private static func storedAppliances(
        of edit: CorpusEdit, index: ApplyIndex, stateBytes: [UInt8]
    ) throws(Refusal) -> (DeploymentState, elsewhere: [Int]) {
        var inScope: [Int] = []
        var elsewhere: [Int] = []
        for (position, entry) in index.appliances.enumerated() {
            if edit.covers(entry.vpc) {
                inScope.append(position)
            } else {
                elsewhere.append(position)
            }
        }
        guard index.appliances.allSatisfy({ $0.chunk.upperBound <= stateBytes.count }) else {
            throw Refusal(reason: "the state file is not the indexed one")
        }
        let text = StateDocument(
            nextApplianceNumber: index.nextApplianceNumber,
            nextMappingNumber: index.nextMappingNumber,
            appliances: inScope.map { stateBytes[index.appliances[$0].chunk] }, pools: []
        ).bytes
        do {
            return (try DeploymentState(file: "state", bytes: text), elsewhere)
        } catch {
            throw Refusal(reason: "the state's appliances do not read back")
        }
    }

    /// `topology.json` and its VPC chunks: the previous file with the scope's chunks
    /// rendered afresh, or the previous file itself, not read whole, when they come out the
    /// same.
    private static func topology(
        _ edit: CorpusEdit, _ plan: Plan, index: ApplyIndex, previous: PreviousOutput
    ) throws(Refusal) -> (file: OutputFile, chunks: [Range<Int>]) {
        let path = "topology.json"
        guard
            index.topologyChunks.count
                == edit.layout.tags.count(where: { $0 == CorpusLayout.Section.vpcs.rawValue })
        else { throw Refusal(reason: "the previous topology.json is not the indexed one") }
        let appliances = TopologyDocument.appliancesByTier(plan.state)
        var rendered: [Int: [UInt8]] = [:]
        for (position, vpc) in edit.scope.enumerated() {
            rendered[vpc] = TopologyDocument.chunk(
                of: position, edit.corpus, appliances: appliances)
        }
        // The VPCs and the corpus's name are as before (an edit of them is refused), so
        // when the scope's chunks are too, so is the document.
        if rendered.allSatisfy({
            FileBytes.read(previous.folder + "/" + path, at: index.topologyChunks[$0.key])
                == $0.value
        }),
            let kept = previous.reuse([path])?.first
        {
            return (kept, index.topologyChunks)
        }
        guard let old = previous.listedBytes(of: path),
            index.topologyChunks.allSatisfy({ $0.upperBound <= old.count })
        else { throw Refusal(reason: "the previous topology.json is not the indexed one") }
        let chunks = index.topologyChunks.enumerated().map { vpc, range in
            rendered[vpc]?[...] ?? old[range]
        }
        let document = TopologyDocument(corpusName: edit.corpus.corpus.name, chunks: chunks)
        return (OutputFile(path: path, parts: document.parts), document.chunks)
    }

    /// Every tier's pool usage in corpus order (the scope's from `plan`, the others as
    /// the index recorded them), then the link-local pool's.
    private static func pools(_ edit: CorpusEdit, _ plan: Plan, index: ApplyIndex)
        throws(Refusal) -> [PoolUsage]
    {
        var recorded = UInt64Map<PoolUsage>(capacity: index.pools.count)
        for pool in index.pools { recorded.set(pool, for: Digest.xxh3(pool.name)) }
        var planned = UInt64Map<PoolUsage>(capacity: plan.pools.count)
        for pool in plan.pools.dropLast() { planned.set(pool, for: Digest.xxh3(pool.name)) }
        guard recorded.count == index.pools.count, planned.count == plan.pools.count - 1 else {
            throw Refusal(reason: "two tier ids share a digest")
        }
        var pools: [PoolUsage] = []
        let layout = edit.layout
        for segment in 0..<layout.count
        where layout.tags[segment] == CorpusLayout.Section.networks.rawValue {
            let entity = layout[entity: segment]
            let pool =
                edit.covers(entity.vpc) ? planned[entity.key] : recorded[entity.key]
            if let pool { pools.append(pool) }
        }
        pools.append(plan.pools.last!)
        return pools
    }

    /// The corpus's counts, from its layout.
    private static func counts(_ layout: CorpusLayout) -> CompilationCounts {
        var counts = CompilationCounts()
        for (tag, extra) in zip(layout.tags, layout.extras) {
            switch CorpusLayout.Section(rawValue: tag) {
            case .vpcs: counts.vpcs += 1
            case .networks: counts.tiers += 1
            case .virtualMachines: counts.virtualMachines += 1
            case .publicIPAddresses: counts.publicIPs += 1
            case .loadBalancerRules:
                counts.rules += 1
                counts.activeRules += Int(extra)
            case .portForwardingRules, .applianceIntents, nil: break
            }
        }
        return counts
    }
}
