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
    }

    public var path: String
    /// The content; empty when the file is reused.
    public let bytes: [UInt8]
    /// The content's size and XXH3-64, computed once (the manifest and the reuse check both
    /// need them).
    public let artifact: Artifact
    /// Whether the file is the previous output's file at the same path: it is hard-linked
    /// into the new output, not rendered or written.
    public let isReused: Bool

    /// Creates a file entry.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        artifact = Artifact(bytes: bytes.count, xxh3: Digest.xxh3(bytes))
        isReused = false
    }

    /// A file taken over from the previous output.
    init(path: String, reusing artifact: Artifact) {
        self.path = path
        self.bytes = []
        self.artifact = artifact
        isReused = true
    }

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

    /// The manifest's format tag.
    static let manifestFormat = "inlinelb-manifest/1"

    /// Plans and renders. `inputFile` and `inputBytes` identify the corpus in the manifest.
    ///
    /// With `previous`, an appliance whose canonical input digest matches the previous
    /// output's is not rendered: its files are reused, as is every other per-VPC file whose
    /// rendered bytes come out the same.
    public init(
        corpus: ValidatedCorpus, inputFile: String, inputBytes: [UInt8],
        state: DeploymentState = .empty,
        restarts: [NetworkRestart] = [],
        previous: PreviousOutput? = nil
    ) throws(PlanError) {
        let plan = try Planner.plan(state: state, corpus: corpus, restarts: restarts)
        var files: [OutputFile] = []
        var inputs: [(unit: String, digest: String)] = []
        let model = corpus.corpus
        let natsOfVPC = Compilation.staticNATs(corpus, plan)
        files += Array(model.vpcs.indices).concurrentMap { position in
            let vpc = model.vpcs[position]
            return OutputFile(
                path: "\(vpc.id)/router.iptables",
                bytes: RouterIptablesRenderer.render(
                    vpc: vpc, tiers: corpus.tiersOfVPC[position].map { model.networks[$0] },
                    staticNATs: natsOfVPC[position]))
        }
        // Each appliance's files, rendered unless the previous output has them for the same
        // canonical input.
        let units = plan.appliances.concurrentMap { appliance in
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
        for (folder, digest, unitFiles) in units {
            inputs.append((folder, digest))
            files += unitFiles
        }
        if let previous {
            for index in files.indices where files[index].path.contains("/") {
                if let reused = previous.reuse(files[index]) { files[index] = reused }
            }
        }
        files.append(OutputFile(path: "topology.json", bytes: Compilation.topology(corpus, plan)))
        files.append(
            OutputFile(path: "actions.jsonl", bytes: DocumentRenderers.actions(plan.actions)))
        files.append(OutputFile(path: "state.json", bytes: plan.state.document(pools: plan.pools)))

        var counts = CompilationCounts()
        counts.vpcs = model.vpcs.count
        counts.tiers = model.networks.count
        counts.appliances = plan.state.appliances.count
        counts.runningAppliances = plan.state.appliances.filter { $0.state == .running }.count
        counts.publicIPs = model.publicIPAddresses.count
        counts.mappedPublicIPs = plan.state.appliances.reduce(0) { $0 + $1.mappings.count }
        counts.rules = model.loadBalancerRules.count
        counts.activeRules = model.loadBalancerRules.filter(\.isActive).count
        counts.virtualMachines = model.virtualMachines.count
        counts.actions = plan.actions.count
        files.sort { $0.path < $1.path }
        files.append(
            OutputFile(
                path: "manifest.json",
                bytes: Compilation.manifest(
                    files: files, inputs: inputs, corpusName: model.name, inputFile: inputFile,
                    inputBytes: inputBytes, counts: counts)))
        files.sort { $0.path < $1.path }
        counts.artifacts = files.count
        counts.bytes = files.reduce(0) { $0 + $1.size }
        self.plan = plan
        self.files = files
        self.counts = counts
        self.reusedFiles = files.count(where: \.isReused)
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

    static func topology(_ corpus: ValidatedCorpus, _ plan: Plan) -> [UInt8] {
        let model = corpus.corpus
        var applianceOf: [String: ApplianceRecord] = [:]
        for record in plan.state.appliances { applianceOf[record.networkID] = record }
        let vpcs: [JSONOutput] = model.vpcs.enumerated().map { vpcPosition, vpc in
            let tiers = corpus.tiersOfVPC[vpcPosition]
            let tierDocs: [JSONOutput] = tiers.enumerated().map { position, tierPosition in
                let tier = model.networks[tierPosition]
                var appliance = JSONOutput.null
                if let record = applianceOf[tier.id] {
                    let folder = applianceFolder(record)
                    appliance = .object([
                        ("name", .string(record.name)), ("state", .string(record.state.rawValue)),
                        ("publicip", .string(record.publicIPList)),
                        ("haproxy", .string(folder + "/haproxy.cfg")),
                        ("iptables", .string(folder + "/iptables.rules")),
                        ("addresses", .string(folder + "/addresses.json")),
                    ])
                }
                let vms: [JSONOutput] = corpus.nicsOfTier[tierPosition].map { nic in
                    let vm = model.virtualMachines[nic.vm]
                    return .object([
                        ("id", .string(vm.id)), ("name", .string(vm.name)),
                        ("ipaddress", .string(nic.address.description)),
                        ("state", .string(vm.state)),
                    ])
                }
                return .object([
                    ("id", .string(tier.id)), ("name", .string(tier.name)),
                    ("interface", .string(RouterIptablesRenderer.tierInterface(position))),
                    ("cidr", .string(tier.cidr.description)),
                    ("gateway", .string(tier.gateway.description)),
                    ("lbprovider", .optional(corpus.offering(of: tier).lbProvider)),
                    ("appliance", appliance), ("virtualmachines", .array(vms)),
                ])
            }
            let publicIPs: [JSONOutput] = corpus.publicIPsOfVPC[vpcPosition].map { position in
                let ip = model.publicIPAddresses[position]
                return .object([
                    ("id", .string(ip.id)), ("ipaddress", .string(ip.ipAddress.description)),
                ])
            }
            return .object([
                ("id", .string(vpc.id)), ("name", .string(vpc.name)),
                ("cidr", .string(vpc.cidr.description)),
                ("sourcenatip", .optional(vpc.sourceNATIP?.description)),
                (
                    "router",
                    .object([
                        ("iptables", .string("\(vpc.id)/router.iptables")),
                        ("publicinterface", .string(RouterIptablesRenderer.publicInterface)),
                        ("controlinterface", .string(RouterIptablesRenderer.controlInterface)),
                        ("publicips", .array(publicIPs)),
                    ])
                ),
                ("tiers", .array(tierDocs)),
            ])
        }
        return JSONOutput.object([
            ("format", .string(DocumentRenderers.topologyFormat)), ("corpus", .string(model.name)),
            ("vpcs", .array(vpcs)),
        ]).document
    }

    static func manifest(
        files: [OutputFile], inputs: [(unit: String, digest: String)], corpusName: String,
        inputFile: String, inputBytes: [UInt8], counts: CompilationCounts
    ) -> [UInt8] {
        JSONOutput.object([
            ("format", .string(manifestFormat)),
            ("tool", .string("inlinelb \(inlinelbVersion)")),
            (
                "input",
                .object([
                    ("corpus", .string(corpusName)), ("file", .string(baseName(inputFile))),
                    ("bytes", .int(inputBytes.count)),
                    ("xxh3", .string(Digest.hex(Digest.xxh3(inputBytes)))),
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
