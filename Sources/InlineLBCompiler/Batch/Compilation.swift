import InlineLBCore

/// The version written into every manifest.
public let inlinelbVersion = "0.1.0"

/// One output file: its path relative to the output folder and its bytes, or a file of the
/// previous output that is kept as it is.
public struct OutputFile: Sendable {
    /// A file's size and XXH3-64, as manifests list them.
    public struct Artifact: Sendable, Equatable {
        public var bytes: Int
        public var xxh3: UInt64

        /// The size and digest of `content`.
        public init(of content: [UInt8]) {
            bytes = content.count
            xxh3 = Digest.xxh3(content)
        }

        /// An artifact of `bytes` bytes whose XXH3-64 is `xxh3`.
        public init(bytes: Int, xxh3: UInt64) {
            self.bytes = bytes
            self.xxh3 = xxh3
        }
    }

    public var path: String
    /// The content, in parts that follow one another (a large document rendered in parts
    /// on all cores is written as it is, never joined); none when the file is reused.
    public let parts: [ArraySlice<UInt8>]
    /// The content's size and XXH3-64, computed once (the manifest and the reuse check both
    /// need them).
    public let artifact: Artifact
    /// Whether the file is the previous output's file at the same path: it is hard-linked
    /// into the new output, not rendered or written.
    public let isReused: Bool

    /// Whether the file is a cache that need not survive a power loss: it is written but
    /// not fsynced (a torn copy fails its digest check and is not used).
    public let isCache: Bool

    /// A reused file's inode, as the reuse check found it.
    let reusedInode: UInt64?

    /// Creates a file entry.
    public init(path: String, bytes: [UInt8], isCache: Bool = false) {
        self.init(path: path, parts: [bytes[...]], isCache: isCache)
    }

    /// Creates a file entry whose content is `parts`, one after another.
    public init(path: String, parts: [ArraySlice<UInt8>], isCache: Bool = false) {
        self.path = path
        self.parts = parts
        artifact = Artifact(
            bytes: parts.reduce(0) { $0 + $1.count }, xxh3: Digest.xxh3(parts: parts))
        isReused = false
        self.isCache = isCache
        reusedInode = nil
    }

    /// A file taken over from the previous output, where it is inode `inode` (looked up
    /// when the file is linked, if not given).
    init(path: String, reusing artifact: Artifact, inode: UInt64? = nil) {
        self.path = path
        self.parts = []
        self.artifact = artifact
        isReused = true
        isCache = false
        reusedInode = inode
    }

    /// The content in one array (joined when it is in several parts); empty when the file
    /// is reused.
    public var bytes: [UInt8] { Array(parts.joined()) }

    /// The file's size in bytes.
    public var size: Int { artifact.bytes }

    /// The XXH3-64 of the file's content.
    public var xxh3: UInt64 { artifact.xxh3 }
}

/// Counts describing one compilation, for summaries and the manifest.
public struct CompilationCounts: Sendable, Equatable {
    public var vpcs = 0
    public var tiers = 0
    public var appliances = 0
    public var runningAppliances = 0
    public var publicIPs = 0
    public var mappedPublicIPs = 0
    public var rules = 0
    public var activeRules = 0
    public var virtualMachines = 0
    public var actions = 0
    public var artifacts = 0
    public var bytes = 0

    var json: JSONOutput {
        .object([
            ("vpcs", .int(vpcs)), ("tiers", .int(tiers)), ("appliances", .int(appliances)),
            ("runningappliances", .int(runningAppliances)), ("publicips", .int(publicIPs)),
            ("mappedpublicips", .int(mappedPublicIPs)), ("rules", .int(rules)),
            ("activerules", .int(activeRules)), ("virtualmachines", .int(virtualMachines)),
            ("actions", .int(actions)),
        ])
    }
}

/// Compiles a validated corpus against a stored state into every artifact of a VPC Inline
/// LB deployment (DESIGN.md "Artifacts of one compilation").
public struct Compilation: Sendable {
    /// The plan the artifacts describe.
    public let plan: Plan
    /// Every file, manifest included, sorted by path.
    public let files: [OutputFile]
    /// What was compiled.
    public let counts: CompilationCounts
    /// How many files are kept from the previous output instead of written.
    public let reusedFiles: Int
    /// The new `state.json`, in parts that follow one another (also when the file itself
    /// is kept).
    public let stateDocument: [ArraySlice<UInt8>]

    /// The manifest's format tag.
    static let manifestFormat = "inlinelb-manifest/1"

    /// Plans and renders. `inputFile` and `input` (the file's size and digest) identify the
    /// corpus in the manifest.
    ///
    /// With `previous`, an appliance whose canonical input digest matches the previous
    /// output's is not rendered: its files are reused, as is every other per-VPC file whose
    /// rendered bytes come out the same.
    ///
    /// With the corpus's `layout` (and no restarts, which leave a state that the next
    /// apply changes anyway), the output gets an `apply-index.bin` that lets the next
    /// apply re-plan only what an edit touches (``IncrementalApply``).
    public init(
        corpus: ValidatedCorpus, inputFile: String, input: OutputFile.Artifact,
        state: DeploymentState = .empty,
        restarts: [NetworkRestart] = [],
        previous: PreviousOutput? = nil,
        layout: CorpusLayout? = nil
    ) throws(PlanError) {
        let plan = try Planner.plan(state: state, corpus: corpus, restarts: restarts)
        let model = corpus.corpus
        let units = Compilation.applianceUnits(corpus, plan, previous: previous)
        let topology = TopologyDocument(corpus, plan)
        let stateDocument = StateDocument(plan.state, pools: plan.pools)
        var counts = CompilationCounts()
        counts.vpcs = model.vpcs.count
        counts.tiers = model.networks.count
        counts.publicIPs = model.publicIPAddresses.count
        counts.rules = model.loadBalancerRules.count
        counts.activeRules = corpus.resolvedRules.isActive.count { $0 }
        counts.virtualMachines = model.virtualMachines.count
        counts.appliances = plan.state.appliances.count
        counts.runningAppliances = plan.state.appliances.count { $0.state == .running }
        counts.mappedPublicIPs = plan.state.appliances.reduce(0) { $0 + $1.mappings.count }
        // Every appliance of a planned state serves a tier of the corpus, so its VPC is known.
        let vpcs = plan.state.appliances.compactMap { corpus.vpcIndex[$0.vpcID] }
        var index: ApplyIndex?
        if restarts.isEmpty, let layout, vpcs.count == plan.state.appliances.count {
            index = ApplyIndex(
                layout: layout, state: stateDocument, counters: plan.state,
                appliances: zip(plan.state.appliances, vpcs).map(ApplyIndex.Appliance.init),
                topologyChunks: topology.chunks, pools: plan.pools.dropLast())
        }
        self.init(
            plan: plan, rendered: Compilation.routerFiles(corpus, plan) + units.flatMap(\.files),
            inputs: units.map { ($0.folder, $0.digest) },
            topology: OutputFile(path: "topology.json", parts: topology.parts),
            stateDocument: stateDocument.parts, counts: counts, corpusName: model.name,
            inputFile: inputFile,
            input: input,
            previous: previous, index: index)
    }

    /// The output of `plan`: the `rendered` per-VPC files and the documents (each taken
    /// from `previous` when its bytes come out the same), the apply index and the
    /// manifest. `counts` holds everything but the actions and the files.
    init(
        plan: Plan, rendered: [OutputFile], inputs: [(unit: String, digest: String)],
        topology: OutputFile, stateDocument: [ArraySlice<UInt8>],
        counts: CompilationCounts,
        corpusName: String, inputFile: String, input: OutputFile.Artifact,
        previous: PreviousOutput?, index: ApplyIndex?
    ) {
        var files = rendered
        files.append(topology)
        files.append(
            OutputFile(
                path: "actions.jsonl",
                parts: DocumentRenderers.actions(plan.actions).map { $0[...] }))
        files.append(OutputFile(path: "state.json", parts: stateDocument))
        if let index { files += index.files(keeping: previous) }
        if let previous {
            for index in files.indices {
                if let reused = previous.reuse(files[index]) { files[index] = reused }
            }
        }

        var counts = counts
        counts.actions = plan.actions.count
        files.sort { $0.path < $1.path }
        files.append(
            OutputFile(
                path: "manifest.json",
                bytes: Compilation.manifest(
                    files: files, inputs: inputs, corpusName: corpusName, inputFile: inputFile,
                    input: input, counts: counts)))
        files.sort { $0.path < $1.path }
        counts.artifacts = files.count
        counts.bytes = files.reduce(0) { $0 + $1.size }
        self.plan = plan
        self.files = files
        self.counts = counts
        self.reusedFiles = files.count(where: \.isReused)
        self.stateDocument = stateDocument
    }

    /// The router's `iptables` of each VPC of `corpus`.
    static func routerFiles(_ corpus: ValidatedCorpus, _ plan: Plan) -> [OutputFile] {
        let model = corpus.corpus
        let natsOfVPC = Compilation.staticNATs(corpus, plan)
        return Array(model.vpcs.indices).concurrentMap { position in
            let vpc = model.vpcs[position]
            return OutputFile(
                path: "\(vpc.id)/router.iptables",
                bytes: RouterIptablesRenderer.render(
                    vpc: vpc, tiers: corpus.tiersOfVPC[position].map { model.networks[$0] },
                    staticNATs: natsOfVPC[position]))
        }
    }

    /// Each planned appliance's folder, canonical input digest and files: rendered, unless
    /// `previous` has them for the same canonical input.
    static func applianceUnits(_ corpus: ValidatedCorpus, _ plan: Plan, previous: PreviousOutput?)
        -> [(folder: String, digest: String, files: [OutputFile])]
    {
        let model = corpus.corpus
        return plan.appliances.concurrentMap { appliance in
            let record = appliance.record
            let tier = model.networks[corpus.tierIndex[record.networkID]!]
            let folder = Compilation.applianceFolder(record)
            let digest = appliance.inputDigest(tier: tier)
            let paths = Compilation.applianceFiles.map { folder + "/" + $0 }
            if previous?.inputs[folder] == digest, let reused = previous?.reuse(paths) {
                return (folder, digest, reused)
            }
            return (
                folder, digest,
                [
                    OutputFile(
                        path: paths[0], bytes: HAProxyConfigRenderer.render(appliance.config)),
                    OutputFile(
                        path: paths[1], bytes: ApplianceFirewallRenderer.render(appliance.config)),
                    OutputFile(
                        path: paths[2], bytes: DocumentRenderers.addresses(record, tier: tier)),
                ]
            )
        }
    }

    /// The files of each appliance folder, in the order they are rendered.
    static let applianceFiles = ["haproxy.cfg", "iptables.rules", "addresses.json"]

    /// `<vpc>/<tier>/<appliance>`.
    public static func applianceFolder(_ record: ApplianceRecord) -> String {
        "\(record.vpcID)/\(record.networkID)/\(record.name)"
    }

    /// Each VPC's router static NATs, by VPC position: appliance mappings in state order,
    /// then VM static NATs.
    static func staticNATs(_ corpus: ValidatedCorpus, _ plan: Plan)
        -> [[RouterIptablesRenderer.StaticNAT]]
    {
        let model = corpus.corpus
        var nats = [[RouterIptablesRenderer.StaticNAT]](repeating: [], count: model.vpcs.count)
        for appliance in plan.state.appliances {
            guard let vpc = corpus.vpcIndex[appliance.vpcID] else { continue }
            for mapping in appliance.mappings {
                nats[vpc].append(.init(publicIP: mapping.publicIP, insideIP: mapping.secondaryIP))
            }
        }
        for (vpc, ips) in corpus.publicIPsOfVPC.enumerated() {
            for ip in ips.map({ model.publicIPAddresses[$0] }) {
                guard let vmID = ip.virtualMachineID else { continue }
                let vm = model.virtualMachines[corpus.vmIndex[vmID]!]
                guard
                    let nic = vm.nics.first(where: {
                        corpus.tierIndex[$0.networkID].map {
                            model.networks[$0].vpcID == ip.vpcID
                        } ?? false
                    })
                else { continue }
                nats[vpc].append(.init(publicIP: ip.ipAddress, insideIP: nic.ipAddress))
            }
        }
        return nats
    }

    static func manifest(
        files: [OutputFile], inputs: [(unit: String, digest: String)], corpusName: String,
        inputFile: String, input: OutputFile.Artifact, counts: CompilationCounts
    ) -> [UInt8] {
        JSONOutput.object([
            ("format", .string(manifestFormat)),
            ("tool", .string("inlinelb \(inlinelbVersion)")),
            (
                "input",
                .object([
                    ("corpus", .string(corpusName)), ("file", .string(baseName(inputFile))),
                    ("bytes", .int(input.bytes)), ("xxh3", .string(Digest.hex(input.xxh3))),
                ])
            ),
            ("counts", counts.json),
            (
                "artifacts",
                .array(
                    files.map { file in
                        .object([
                            ("path", .string(file.path)), ("bytes", .int(file.size)),
                            ("xxh3", .string(Digest.hex(file.xxh3))),
                        ])
                    })
            ),
            (
                "inputs",
                .array(
                    inputs.map { input in
                        .object([
                            ("unit", .string(input.unit)), ("xxh3-128", .string(input.digest)),
                        ])
                    })
            ),
        ]).document
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
