import InlineLBCore

/// A corpus that passed ``CorpusValidator``, with its cross-reference indexes.
public struct ValidatedCorpus: Sendable {
    /// The corpus.
    public let corpus: Corpus
    /// Position of each VPC by id.
    public let vpcIndex: [String: Int]
    /// Position of each tier by id.
    public let tierIndex: [String: Int]
    /// Position of each VM by id.
    public let vmIndex: [String: Int]
    /// Position of each public IP by id.
    public let publicIPIndex: [String: Int]
    /// Position of each network offering by id.
    public let networkOfferingIndex: [String: Int]
    /// Positions of each VPC's tiers, by VPC position, in corpus order.
    public let tiersOfVPC: [[Int]]
    /// Positions of each VPC's public IPs, by VPC position, in corpus order.
    public let publicIPsOfVPC: [[Int]]
    /// The VMs with a NIC in each tier, by tier position, in corpus order.
    public let nicsOfTier: [[TierNIC]]

    /// A VM's NIC in one tier.
    public struct TierNIC: Sendable {
        /// Position of the VM in the corpus.
        public var vm: Int
        public var address: IPv4Address
    }

    /// Indexes a corpus whose references have been checked.
    init(
        corpus: Corpus, vpcIndex: [String: Int], tierIndex: [String: Int],
        vmIndex: [String: Int], publicIPIndex: [String: Int], networkOfferingIndex: [String: Int]
    ) {
        self.corpus = corpus
        self.vpcIndex = vpcIndex
        self.tierIndex = tierIndex
        self.vmIndex = vmIndex
        self.publicIPIndex = publicIPIndex
        self.networkOfferingIndex = networkOfferingIndex
        var tiers = [[Int]](repeating: [], count: corpus.vpcs.count)
        for (position, tier) in corpus.networks.enumerated() {
            if let vpc = vpcIndex[tier.vpcID] { tiers[vpc].append(position) }
        }
        var publicIPs = [[Int]](repeating: [], count: corpus.vpcs.count)
        for (position, ip) in corpus.publicIPAddresses.enumerated() {
            if let vpc = vpcIndex[ip.vpcID] { publicIPs[vpc].append(position) }
        }
        var nics = [[TierNIC]](repeating: [], count: corpus.networks.count)
        for (position, vm) in corpus.virtualMachines.enumerated() {
            for nic in vm.nics {
                // A VM's first NIC in a tier is its address there.
                guard let tier = tierIndex[nic.networkID], nics[tier].last?.vm != position
                else { continue }
                nics[tier].append(TierNIC(vm: position, address: nic.ipAddress))
            }
        }
        tiersOfVPC = tiers
        publicIPsOfVPC = publicIPs
        nicsOfTier = nics
    }

    /// The network offering of a tier.
    public func offering(of tier: Tier) -> NetworkOffering {
        corpus.networkOfferings[networkOfferingIndex[tier.networkOfferingID]!]
    }

    /// Whether a tier's offering names `VpcInlineLbVm` as its Lb provider.
    public func usesInlineLB(_ tier: Tier) -> Bool {
        offering(of: tier).lbProvider == inlineLBProviderName
    }

    /// The address of `vm`'s NIC in `tierID`.
    public func address(of vm: VirtualMachine, in tierID: String) -> IPv4Address? {
        vm.nics.first { $0.networkID == tierID }?.ipAddress
    }
}
