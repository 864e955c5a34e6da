import InlineLBCore

/// The version written into every manifest.
public let inlinelbVersion = "0.1.0"

/// One output file: its path relative to the output folder and its bytes.
public struct OutputFile: Sendable {
    public var path: String
    public var bytes: [UInt8]

    /// Creates a file entry.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }
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

    /// Plans and renders. `inputFile` and `inputBytes` identify the corpus in the manifest.
    public init(
        corpus: ValidatedCorpus, inputFile: String, inputBytes: [UInt8],
        state: DeploymentState = .empty,
        restarts: [NetworkRestart] = []
    ) throws(PlanError) {
        let plan = try Planner.plan(state: state, corpus: corpus, restarts: restarts)
        var files: [OutputFile] = []
        let model = corpus.corpus
        for vpc in model.vpcs {
            let tiers = model.networks.filter { $0.vpcID == vpc.id }
            files.append(
                OutputFile(
                    path: "\(vpc.id)/router.iptables",
                    bytes: RouterIptablesRenderer.render(
                        vpc: vpc, tiers: tiers,
                        staticNATs: Compilation.staticNATs(of: vpc, corpus, plan))))
        }
        for appliance in plan.appliances {
            let record = appliance.record
            let tier = model.networks[corpus.tierIndex[record.networkID]!]
            let folder = Compilation.applianceFolder(record)
            files.append(OutputFile(path: folder + "/haproxy.cfg", bytes: appliance.haproxyConfig))
            files.append(
                OutputFile(
                    path: folder + "/iptables.rules",
                    bytes: ApplianceFirewallRenderer.render(appliance.config)))
            files.append(
                OutputFile(
                    path: folder + "/addresses.json",
                    bytes: DocumentRenderers.addresses(record, tier: tier)))
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
                    files: files, corpusName: model.name, inputFile: inputFile,
                    inputBytes: inputBytes, counts: counts)))
        files.sort { $0.path < $1.path }
        counts.artifacts = files.count
        counts.bytes = files.reduce(0) { $0 + $1.bytes.count }
        self.plan = plan
        self.files = files
        self.counts = counts
    }

    /// `<vpc>/<tier>/<appliance>`.
    public static func applianceFolder(_ record: ApplianceRecord) -> String {
        "\(record.vpcID)/\(record.networkID)/\(record.name)"
    }

    /// The router's static NATs: appliance mappings in state order, then VM static NATs.
    static func staticNATs(of vpc: VPC, _ corpus: ValidatedCorpus, _ plan: Plan)
        -> [RouterIptablesRenderer.StaticNAT]
    {
        var nats: [RouterIptablesRenderer.StaticNAT] = []
        for appliance in plan.state.appliances where appliance.vpcID == vpc.id {
            for mapping in appliance.mappings {
                nats.append(.init(publicIP: mapping.publicIP, insideIP: mapping.secondaryIP))
            }
        }
        for ip in corpus.corpus.publicIPAddresses where ip.vpcID == vpc.id {
            guard let vmID = ip.virtualMachineID else { continue }
            let vm = corpus.corpus.virtualMachines[corpus.vmIndex[vmID]!]
            guard
                let nic = vm.nics.first(where: {
                    corpus.tierIndex[$0.networkID].map {
                        corpus.corpus.networks[$0].vpcID == vpc.id
                    } ?? false
                })
            else { continue }
            nats.append(.init(publicIP: ip.ipAddress, insideIP: nic.ipAddress))
        }
        return nats
    }

    static func topology(_ corpus: ValidatedCorpus, _ plan: Plan) -> [UInt8] {
        let model = corpus.corpus
        var applianceOf: [String: ApplianceRecord] = [:]
        for record in plan.state.appliances { applianceOf[record.networkID] = record }
        let vpcs: [JSONOutput] = model.vpcs.map { vpc in
            let tiers = model.networks.filter { $0.vpcID == vpc.id }
            let tierDocs: [JSONOutput] = tiers.enumerated().map { position, tier in
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
                let vms: [JSONOutput] = model.virtualMachines.compactMap { vm in
                    guard let address = corpus.address(of: vm, in: tier.id) else { return nil }
                    return .object([
                        ("id", .string(vm.id)), ("name", .string(vm.name)),
                        ("ipaddress", .string(address.description)), ("state", .string(vm.state)),
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
            let publicIPs: [JSONOutput] = model.publicIPAddresses.filter { $0.vpcID == vpc.id }.map
            {
                .object([("id", .string($0.id)), ("ipaddress", .string($0.ipAddress.description))])
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
        files: [OutputFile], corpusName: String, inputFile: String, inputBytes: [UInt8],
        counts: CompilationCounts
    ) -> [UInt8] {
        JSONOutput.object([
            ("format", .string("inlinelb-manifest/1")),
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
                            ("path", .string(file.path)), ("bytes", .int(file.bytes.count)),
                            ("xxh3", .string(Digest.hex(Digest.xxh3(file.bytes)))),
                        ])
                    })
            ),
        ]).document
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
