import InlineLBCore

/// A corpus that passed ``CorpusValidator``, with its cross-reference indexes.
public struct ValidatedCorpus: Sendable {
    /// The corpus.
    public let corpus: Corpus
    /// Position of each VPC by id.
    public let vpcIndex: IDIndex
    /// Position of each tier by id.
    public let tierIndex: IDIndex
    /// Position of each VM by id.
    public let vmIndex: IDIndex
    /// Position of each public IP by id.
    public let publicIPIndex: IDIndex
    /// Position of each network offering by id.
    public let networkOfferingIndex: IDIndex
    /// Positions of each VPC's tiers, by VPC position, in corpus order.
    public let tiersOfVPC: [[Int]]
    /// Positions of each VPC's public IPs, by VPC position, in corpus order.
    public let publicIPsOfVPC: [[Int]]
    /// The VMs with a NIC in each tier, by tier position, in corpus order.
    public let nicsOfTier: [[TierNIC]]
    /// What validation looked up for each load balancer rule, kept so that later stages do
    /// not hash the same ids again.
    public internal(set) var resolvedRules = ResolvedRules()

    /// The positions a rule's ids resolve to and its VMs' addresses in its tier, by rule
    /// position. The VMs of all rules are kept in one array each, in rule order.
    public struct ResolvedRules: Sendable {
        /// Each rule's tier position.
        public internal(set) var tier: [Int32] = []
        /// Each rule's public IP position.
        public internal(set) var publicIP: [Int32] = []
        /// XXH3-64 of each rule's id (hashed for the duplicate check).
        public internal(set) var idDigest: [UInt64] = []
        /// Whether each rule is active (``LoadBalancerRule/isActive``): asking the rule
        /// itself copies it, and all it holds is retained and released.
        public internal(set) var isActive: [Bool] = []
        /// Where each rule's VMs start in `vms` and `vmAddresses`; one more entry than rules.
        var vmStart: [Int32] = [0]
        /// The position of each VM of each rule, in rule and VM order.
        var vms: [Int32] = []
        /// The address in the rule's tier of each VM of each rule, in rule and VM order.
        var vmAddresses: [IPv4Address] = []

        /// The VMs of rule `position` in the order of its `virtualMachineIDs`.
        private func vmRange(ofRule position: Int) -> Range<Int> {
            Int(vmStart[position])..<Int(vmStart[position + 1])
        }

        /// The positions of rule `position`'s VMs, in the order of its `virtualMachineIDs`.
        public func vms(ofRule position: Int) -> ArraySlice<Int32> {
            vms[vmRange(ofRule: position)]
        }

        /// The addresses of rule `position`'s VMs in its tier, in the order of its
        /// `virtualMachineIDs`.
        public func vmAddresses(ofRule position: Int) -> ArraySlice<IPv4Address> {
            vmAddresses[vmRange(ofRule: position)]
        }

        /// Appends a VM of the next rule.
        mutating func appendVM(_ position: Int, address: IPv4Address) {
            vms.append(Int32(truncatingIfNeeded: position))
            vmAddresses.append(address)
        }

        /// Makes room for `rules` more rules with `addresses` VM addresses in all.
        mutating func reserveCapacity(rules: Int, addresses: Int) {
            tier.reserveCapacity(tier.count + rules)
            publicIP.reserveCapacity(publicIP.count + rules)
            isActive.reserveCapacity(isActive.count + rules)
            vmStart.reserveCapacity(vmStart.count + rules)
            vms.reserveCapacity(vms.count + addresses)
            vmAddresses.reserveCapacity(vmAddresses.count + addresses)
        }

        /// Ends the entry of the next rule, whose VMs were appended (-1 for what did not
        /// resolve).
        mutating func endRule(tier: Int?, publicIP: Int?, isActive: Bool) {
            self.tier.append(Int32(truncatingIfNeeded: tier ?? -1))
            self.publicIP.append(Int32(truncatingIfNeeded: publicIP ?? -1))
            self.isActive.append(isActive)
            vmStart.append(Int32(truncatingIfNeeded: vms.count))
        }

        /// No rules.
        init() {}

        /// The resolutions of `parts`, one after another, each column joined on all cores.
        init(joining parts: [ResolvedRules]) {
            tier = Array(joining: parts.map(\.tier))
            publicIP = Array(joining: parts.map(\.publicIP))
            isActive = Array(joining: parts.map(\.isActive))
            vms = Array(joining: parts.map(\.vms))
            vmAddresses = Array(joining: parts.map(\.vmAddresses))
            // A part's VM starts count from its first VM: moved by the VMs before it.
            let rules = parts.reduce(into: [0]) { $0.append($0.last! + $1.tier.count) }
            let addresses = parts.reduce(into: [0]) { $0.append($0.last! + $1.vms.count) }
            vmStart = [Int32](unsafeUninitializedCapacity: rules.last! + 1) { buffer, count in
                buffer[0] = 0
                nonisolated(unsafe) let buffer = buffer
                _ = [Int](parts.indices).concurrentMap { index in
                    let base = Int32(truncatingIfNeeded: addresses[index])
                    for (offset, start) in parts[index].vmStart.dropFirst().enumerated() {
                        buffer[rules[index] + 1 + offset] = start + base
                    }
                }
                count = rules.last! + 1
            }
        }
    }

    /// A VM's NIC in one tier.
    public struct TierNIC: Sendable {
        /// Position of the VM in the corpus.
        public var vm: Int
        public var address: IPv4Address
    }

    /// Indexes a corpus whose references have been checked.
    init(
        corpus: Corpus, vpcIndex: IDIndex, tierIndex: IDIndex,
        vmIndex: IDIndex, publicIPIndex: IDIndex, networkOfferingIndex: IDIndex
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
}
