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
