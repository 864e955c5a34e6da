import InlineLBCore

/// `topology.json`: each VPC with its router, tiers, appliances and VMs.
///
/// Each VPC is rendered as a chunk of its own, so that an incremental apply renders only
/// the VPCs it re-planned and copies the other chunks from the previous file.
struct TopologyDocument {
    /// The document, in parts that follow one another: the VPCs' chunks as they were
    /// rendered or read, not copied.
    let parts: [ArraySlice<UInt8>]
    /// Each VPC's chunk in the document, by VPC position.
    let chunks: [Range<Int>]

    /// The document of a whole plan: every VPC's chunk, rendered on all cores.
    init(_ corpus: ValidatedCorpus, _ plan: Plan) {
        let appliances = TopologyDocument.appliancesByTier(plan.state)
        let rendered = Array(corpus.corpus.vpcs.indices).concurrentMap { position in
            TopologyDocument.chunk(of: position, corpus, appliances: appliances)
        }
        self.init(corpusName: corpus.corpus.name, chunks: rendered.map { $0[...] })
    }

    /// Lays VPC chunks out, in order, the way `JSONOutput` writes the whole document.
    init(corpusName: String, chunks: [ArraySlice<UInt8>]) {
        let head = JSONOutput.documentHead(
            [
                ("format", .string(DocumentRenderers.topologyFormat)),
                ("corpus", .string(corpusName)),
            ],
            then: "vpcs")
        (parts, self.chunks) = JSONOutput.parts(
            head, arrayOfRendered: chunks, indent: 2, Array("\n}\n".utf8))
    }

    /// The appliance of each tier in `state`, by tier id.
    static func appliancesByTier(_ state: DeploymentState) -> [String: ApplianceRecord] {
        var byTier: [String: ApplianceRecord] = [:]
        for record in state.appliances { byTier[record.networkID] = record }
        return byTier
    }

    /// The chunk of the VPC at `vpcPosition`: its object as `JSONOutput` writes it inside
    /// the document's `vpcs` array.
    static func chunk(
        of vpcPosition: Int, _ corpus: ValidatedCorpus, appliances: [String: ApplianceRecord]
    ) -> [UInt8] {
        let model = corpus.corpus
        let vpc = model.vpcs[vpcPosition]
        let tiers: [JSONOutput] = corpus.tiersOfVPC[vpcPosition].enumerated().map {
            position, tierPosition in
            let tier = model.networks[tierPosition]
            var appliance = JSONOutput.null
            if let record = appliances[tier.id] {
                let folder = Compilation.applianceFolder(record)
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
        let object = JSONOutput.object([
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
            ("tiers", .array(tiers)),
        ])
        var out = ByteWriter()
        object.write(to: &out, pretty: true, indent: 4)
        return out.bytes
    }
}
