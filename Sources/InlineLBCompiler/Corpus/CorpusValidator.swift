import InlineLBCore

/// Checks a decoded corpus against CloudStack's rules (REFERENCE.md §2) and the
/// consistency the planner relies on, reporting every violation with CloudStack's reason.
public struct CorpusValidator: Sendable {
    private let source: CorpusSource
    private let corpus: Corpus
    private var diagnostics: [Diagnostic] = []

    private init(source: CorpusSource, corpus: Corpus) {
        self.source = source
        self.corpus = corpus
    }

    /// Reads, decodes and validates a corpus file's bytes.
    public static func load(file: String, bytes: [UInt8]) throws(DiagnosticList) -> ValidatedCorpus
    {
        try load(file: file, bytes: .array(bytes))
    }

    /// Reads, decodes and validates a corpus file's bytes (a mapped file's, say).
    public static func load(file: String, bytes: SourceBytes) throws(DiagnosticList)
        -> ValidatedCorpus
    {
        let source = try CorpusSource(file: file, bytes: bytes)
        let corpus = try CorpusDecoder.decode(source)
        let validated = try validate(corpus, source: source)
        // Its tape is as large as the file: freed on another core while planning starts.
        releaseInBackground(source)
        return validated
    }

    /// Validates `corpus`, decoded from `source`.
    public static func validate(_ corpus: Corpus, source: CorpusSource) throws(DiagnosticList)
        -> ValidatedCorpus
    {
        var validator = CorpusValidator(source: source, corpus: corpus)
        return try validator.run()
    }

    private mutating func report(
        _ section: String, _ index: Int, _ field: String?, id: String?, _ message: String
    ) {
        diagnostics.append(diagnostic(section, index, field, id: id, message))
    }

    /// A diagnostic about `field` (or the whole entity) of entry `index` of `section`.
    private func diagnostic(
        _ section: String, _ index: Int, _ field: String?, id: String?, _ message: String
    ) -> Diagnostic {
        var path = JSONPath.root.appending(section).appending(index)
        if let field { path = path.appending(field) }
        return source.diagnostic(at: path, entity: id.map { "id \"\($0)\"" }, message)
    }

    private mutating func run() throws(DiagnosticList) -> ValidatedCorpus {
        // A million rule ids are checked for repeats on other cores while the sections
        // before them are indexed here.
        let rules = corpus.loadBalancerRules
        let ruleIDs = Pending { CorpusValidator.repeatedIDs(rules.map(\.id)) }
        let vpcIndex = uniqueIndex("vpcs", corpus.vpcs.map(\.id), pathSafe: true)
        let tierIndex = uniqueIndex("networks", corpus.networks.map(\.id), pathSafe: true)
        let vmIndex = uniqueIndex("virtualmachines", corpus.virtualMachines.map(\.id))
        let ipIndex = uniqueIndex("publicipaddresses", corpus.publicIPAddresses.map(\.id))
        let vpcOfferingIndex = uniqueIndex("vpcofferings", corpus.vpcOfferings.map(\.id))
        let offeringIndex = uniqueIndex("networkofferings", corpus.networkOfferings.map(\.id))
        reportDuplicates("physicalnetworks", corpus.physicalNetworks.map(\.id))
        let ruleIDDigests = reportDuplicates("loadbalancerrules", ruleIDs.value)
        reportDuplicates("portforwardingrules", corpus.portForwardingRules.map(\.id))

        checkProviders()
        checkOfferings()
        checkVPCs(vpcOfferingIndex)
        checkTiers(vpcIndex, offeringIndex, vpcOfferingIndex)
        checkVirtualMachines(tierIndex)
        checkPublicIPs(vpcIndex, vmIndex)
        checkPortForwarding(ipIndex, vmIndex)
        checkApplianceIntents(tierIndex, offeringIndex)
        var validated = ValidatedCorpus(
            corpus: corpus, vpcIndex: vpcIndex, tierIndex: tierIndex, vmIndex: vmIndex,
            publicIPIndex: ipIndex, networkOfferingIndex: offeringIndex)
        if diagnostics.isEmpty {
            validated.resolvedRules = checkRules(validated)
            validated.resolvedRules.idDigest = ruleIDDigests
        }
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        return validated
    }

    private mutating func uniqueIndex(_ section: String, _ ids: [String], pathSafe: Bool = false)
        -> IDIndex
    {
        var index = IDIndex(capacity: ids.count)
        for (position, id) in ids.enumerated() {
            if let first = index.insert(id, at: position) {
                reportDuplicate(section, position, id: id, first: first)
                continue
            }
            if pathSafe && !CorpusValidator.isPathSafe(id) {
                report(
                    section, position, "id", id: id,
                    "id must be 1-128 letters, digits, '.', '_' or '-', not starting with '.' (it names an output folder)"
                )
            }
        }
        return index
    }

    /// Reports every id that an earlier entry of `section` already has, as ``uniqueIndex``
    /// does, for sections whose ids nothing looks up (a million rule ids took half a second
    /// of serial hashing into a `Dictionary`). The ids are hashed with XXH3 on all cores and
    /// sorted by hash in shards on all cores; only ids with equal hashes are compared.
    /// Returns the ids' XXH3-64 digests, in order.
    @discardableResult
    private mutating func reportDuplicates(_ section: String, _ ids: [String]) -> [UInt64] {
        reportDuplicates(section, CorpusValidator.repeatedIDs(ids))
    }

    /// Reports the repeats `found` among the ids of `section`; returns the ids' digests.
    private mutating func reportDuplicates(_ section: String, _ found: RepeatedIDs) -> [UInt64] {
        for (position, first) in found.repeats {
            reportDuplicate(section, position, id: found.ids[position], first: first)
        }
        return found.digests
    }

    /// Ids, their XXH3-64 digests in order, and every position whose id an earlier one has
    /// (with the first such), as ``repeatedIDs(_:)`` finds them.
    struct RepeatedIDs: Sendable {
        var ids: [String]
        var digests: [UInt64]
        var repeats: [(position: Int, first: Int)]
    }

    /// The repeats among `ids`, for ``reportDuplicates(_:_:)-([String])``.
    static func repeatedIDs(_ ids: [String]) -> RepeatedIDs {
        let hashes = Array(
            (0..<ids.count).split(into: 64).concurrentMap { range in
                range.map { (key: Digest.xxh3(ids[$0]), position: $0) }
            }.joined())
        return RepeatedIDs(
            ids: ids, digests: hashes.map(\.key),
            repeats: CorpusValidator.repeats(in: hashes) { ids[$0] == ids[$1] })
    }

    /// Every position whose key an earlier position's key equals (and `same` confirms the
    /// two equal), with the first such earlier position, in position order. The keys are
    /// sorted in shards on all cores (a million keys took a fifth of a second of serial
    /// probing in a hash map); only positions with equal keys are compared.
    static func repeats(
        in keyed: [(key: UInt64, position: Int)],
        same: @Sendable (Int, Int) -> Bool = { _, _ in true }
    ) -> [(position: Int, first: Int)] {
        // Mixed bits pick a key's shard: keys such as addresses share their top bits.
        var shards = [[(key: UInt64, position: Int)]](repeating: [], count: 64)
        for shard in shards.indices { shards[shard].reserveCapacity(keyed.count / 48 + 8) }
        for entry in keyed { shards[Int((entry.key &* 0x9E37_79B9_7F4A_7C15) >> 58)].append(entry) }
        let found = shards.concurrentMap { shard in
            let sorted = shard.sorted { ($0.key, $0.position) < ($1.key, $1.position) }
            var repeats: [(position: Int, first: Int)] = []
            var runStart = 0
            // Each run of equal keys holds positions in order: a position that `same` pairs
            // with an earlier one in its run repeats the first such.
            while runStart < sorted.count {
                var runEnd = runStart + 1
                while runEnd < sorted.count && sorted[runEnd].key == sorted[runStart].key {
                    runEnd += 1
                }
                for later in runStart + 1..<runEnd {
                    if let first = sorted[runStart..<later].first(where: {
                        same($0.position, sorted[later].position)
                    }) {
                        repeats.append((sorted[later].position, first.position))
                    }
                }
                runStart = runEnd
            }
            return repeats
        }
        return found.joined().sorted { $0.position < $1.position }
    }

    private mutating func reportDuplicate(
        _ section: String, _ position: Int, id: String, first: Int
    ) {
        report(
            section, position, "id", id: id, "duplicate id; \(section)[\(first)] has the same id")
    }

    static func isPathSafe(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= 128, id.first != "." else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    // MARK: - Infrastructure

    private mutating func checkProviders() {
        for (position, physical) in corpus.physicalNetworks.enumerated() {
            for (elementPosition, element) in physical.elements.enumerated()
            where !physical.providers.contains(where: { $0.id == element.nspID }) {
                let path = JSONPath.root.appending("physicalnetworks").appending(position)
                    .appending("vpcinlineloadbalancerelements").appending(elementPosition)
                    .appending("nspid")
                diagnostics.append(
                    source.diagnostic(
                        at: path, entity: "id \"\(element.id)\"",
                        "network service provider \"\(element.nspID)\" is not a provider of physical network \"\(physical.id)\""
                    ))
            }
        }
    }

    private mutating func checkOfferings() {
        for (position, offering) in corpus.networkOfferings.enumerated() {
            if let connections = offering.concurrentConnections, connections < 1 {
                report(
                    "networkofferings", position, "concurrentconnections", id: offering.id,
                    "concurrentconnections must be at least 1")
            }
        }
    }

    private mutating func checkVPCs(_ vpcOfferingIndex: IDIndex) {
        for (position, vpc) in corpus.vpcs.enumerated()
        where vpcOfferingIndex[vpc.vpcOfferingID] == nil {
            report(
                "vpcs", position, "vpcofferingid", id: vpc.id,
                "unknown VPC offering \"\(vpc.vpcOfferingID)\"")
        }
    }

    /// For each tier position, the earlier tiers of its VPC whose CIDR overlaps its own, in
    /// position order. CIDR blocks are nested or disjoint, so a sweep in address order needs
    /// only the chain of blocks enclosing the current one: O(n log n), not a pairwise scan.
    private func overlappingEarlierTiers(_ vpcIndex: IDIndex) -> [Int: [Int]] {
        var byVPC: [String: [Int]] = [:]
        for (position, tier) in corpus.networks.enumerated() where vpcIndex[tier.vpcID] != nil {
            byVPC[tier.vpcID, default: []].append(position)
        }
        var result: [Int: [Int]] = [:]
        for positions in byVPC.values {
            let sorted = positions.sorted { first, second in
                let (a, b) = (corpus.networks[first].cidr, corpus.networks[second].cidr)
                return (a.network.value, a.prefixLength, first)
                    < (b.network.value, b.prefixLength, second)
            }
            var enclosing: [Int] = []
            for position in sorted {
                let cidr = corpus.networks[position].cidr
                enclosing.removeAll {
                    corpus.networks[$0].cidr.broadcast.value < cidr.network.value
                }
                for other in enclosing {
                    result[max(position, other), default: []].append(min(position, other))
                }
                enclosing.append(position)
            }
        }
        return result.mapValues { $0.sorted() }
    }

    private mutating func checkTiers(
        _ vpcIndex: IDIndex, _ offeringIndex: IDIndex, _ vpcOfferingIndex: IDIndex
    ) {
        var lbTierOfVPC: [String: String] = [:]
        let overlaps = overlappingEarlierTiers(vpcIndex)
        for (position, tier) in corpus.networks.enumerated() {
            guard let vpcPosition = vpcIndex[tier.vpcID] else {
                report("networks", position, "vpcid", id: tier.id, "unknown VPC \"\(tier.vpcID)\"")
                continue
            }
            let vpc = corpus.vpcs[vpcPosition]
            if !vpc.cidr.covers(tier.cidr) {
                report(
                    "networks", position, "gateway", id: tier.id,
                    "tier \(tier.cidr) is outside the VPC's cidr \(vpc.cidr)")
            }
            if tier.cidr.prefixLength > 29 {
                report(
                    "networks", position, "netmask", id: tier.id,
                    "tier \(tier.cidr) is too small: a tier needs at least a /29 (gateway, appliance, secondary IPs)"
                )
            } else if tier.gateway == tier.cidr.network || tier.gateway == tier.cidr.broadcast {
                report(
                    "networks", position, "gateway", id: tier.id,
                    "gateway \(tier.gateway) is the network or broadcast address of \(tier.cidr)")
            }
            for other in overlaps[position] ?? [] {
                report(
                    "networks", position, "gateway", id: tier.id,
                    "tier \(tier.cidr) overlaps tier \"\(corpus.networks[other].id)\" (\(corpus.networks[other].cidr)) of the same VPC"
                )
            }
            guard let offeringPosition = offeringIndex[tier.networkOfferingID] else {
                report(
                    "networks", position, "networkofferingid", id: tier.id,
                    "unknown network offering \"\(tier.networkOfferingID)\"")
                continue
            }
            let offering = corpus.networkOfferings[offeringPosition]
            guard let provider = offering.lbProvider else { continue }
            if let other = lbTierOfVPC[tier.vpcID] {
                report(
                    "networks", position, "networkofferingid", id: tier.id,
                    "VPC \"\(tier.vpcID)\" already has public LB on tier \"\(other)\"; a VPC may have public LB on one tier only"
                )
            } else {
                lbTierOfVPC[tier.vpcID] = tier.id
            }
            if let vpcOffering = vpcOfferingIndex[vpc.vpcOfferingID].map({ corpus.vpcOfferings[$0] }
            ),
                vpcOffering.lbProvider != provider
            {
                report(
                    "networks", position, "networkofferingid", id: tier.id,
                    "network offering \"\(offering.id)\" uses Lb provider \(provider) but VPC offering \"\(vpcOffering.id)\" offers \(vpcOffering.lbProvider ?? "no Lb service")"
                )
            }
        }
    }

    private mutating func checkVirtualMachines(_ tierIndex: IDIndex) {
        var taken: [String: [IPv4Address: String]] = [:]
        for (position, vm) in corpus.virtualMachines.enumerated() {
            if vm.nics.isEmpty {
                report(
                    "virtualmachines", position, nil, id: vm.id,
                    "VM has no NIC: give networkid and ipaddress")
            }
            for nic in vm.nics {
                guard let tierPosition = tierIndex[nic.networkID] else {
                    report(
                        "virtualmachines", position, "networkid", id: vm.id,
                        "unknown network \"\(nic.networkID)\"")
                    continue
                }
                let tier = corpus.networks[tierPosition]
                let address = nic.ipAddress
                if !tier.cidr.contains(address) {
                    report(
                        "virtualmachines", position, "ipaddress", id: vm.id,
                        "address \(address) is outside tier \"\(tier.id)\" (\(tier.cidr))")
                } else if address == tier.gateway || address == tier.cidr.network
                    || address == tier.cidr.broadcast
                {
                    report(
                        "virtualmachines", position, "ipaddress", id: vm.id,
                        "address \(address) is the gateway, network or broadcast address of tier \"\(tier.id)\""
                    )
                } else if let holder = taken[tier.id]?[address] {
                    report(
                        "virtualmachines", position, "ipaddress", id: vm.id,
                        "address \(address) is already used by VM \"\(holder)\" in tier \"\(tier.id)\""
                    )
                } else {
                    taken[tier.id, default: [:]][address] = vm.id
                }
            }
        }
    }

    private mutating func checkPublicIPs(_ vpcIndex: IDIndex, _ vmIndex: IDIndex) {
        // The position of the last public IP with each address, sized at once (a `Dictionary`
        // grown from empty and hashed with SipHash took 30 ms for 100,000 addresses).
        var seen = UInt64Map<Int>(capacity: corpus.publicIPAddresses.count)
        for (position, ip) in corpus.publicIPAddresses.enumerated() {
            let address = UInt64(ip.ipAddress.value)
            if let other = seen[address] {
                report(
                    "publicipaddresses", position, "ipaddress", id: ip.id,
                    "address \(ip.ipAddress) is already public IP \"\(corpus.publicIPAddresses[other].id)\""
                )
            }
            seen.set(position, for: address)
            guard let vpcPosition = vpcIndex[ip.vpcID] else {
                report(
                    "publicipaddresses", position, "vpcid", id: ip.id, "unknown VPC \"\(ip.vpcID)\""
                )
                continue
            }
            let vpc = corpus.vpcs[vpcPosition]
            if vpc.cidr.contains(ip.ipAddress) {
                report(
                    "publicipaddresses", position, "ipaddress", id: ip.id,
                    "public address \(ip.ipAddress) lies inside the VPC's own cidr \(vpc.cidr)")
            }
            if let vmID = ip.virtualMachineID {
                if vmIndex[vmID] == nil {
                    report(
                        "publicipaddresses", position, "virtualmachineid", id: ip.id,
                        "unknown VM \"\(vmID)\"")
                } else if vpc.sourceNATIP == ip.ipAddress {
                    report(
                        "publicipaddresses", position, "virtualmachineid", id: ip.id,
                        "the VPC's source NAT IP cannot be statically NATed")
                }
            }
        }
    }

    private mutating func checkPortForwarding(_ ipIndex: IDIndex, _ vmIndex: IDIndex) {
        for (position, rule) in corpus.portForwardingRules.enumerated() {
            if ipIndex[rule.ipAddressID] == nil {
                report(
                    "portforwardingrules", position, "ipaddressid", id: rule.id,
                    "unknown public IP \"\(rule.ipAddressID)\"")
            }
            if vmIndex[rule.virtualMachineID] == nil {
                report(
                    "portforwardingrules", position, "virtualmachineid", id: rule.id,
                    "unknown VM \"\(rule.virtualMachineID)\"")
            }
        }
    }

    private mutating func checkApplianceIntents(
        _ tierIndex: IDIndex, _ offeringIndex: IDIndex
    ) {
        var seen = Set<String>()
        for (position, intent) in corpus.applianceIntents.enumerated() {
            guard let tierPosition = tierIndex[intent.networkID] else {
                report(
                    "vpcinlineloadbalancervms", position, "networkid", id: nil,
                    "unknown network \"\(intent.networkID)\"")
                continue
            }
            if !seen.insert(intent.networkID).inserted {
                report(
                    "vpcinlineloadbalancervms", position, "networkid", id: nil,
                    "Only one VPC Inline LB allowed per network: network \"\(intent.networkID)\" is listed twice"
                )
            }
            let tier = corpus.networks[tierPosition]
            if let offering = offeringIndex[tier.networkOfferingID].map({
                corpus.networkOfferings[$0]
            }),
                offering.lbProvider != inlineLBProviderName
            {
                report(
                    "vpcinlineloadbalancervms", position, "networkid", id: nil,
                    "network \"\(tier.id)\" does not use the \(inlineLBProviderName) provider")
            }
        }
    }

    // MARK: - Load balancer rules

    /// A live rule as the cross-rule checks see it.
    private struct LiveRule: Sendable {
        var position: Int
        var id: String
        var address: IPv4Address
        var port: Int
        var ipPosition: Int
        var tierPosition: Int
        var isActive: Bool
    }

    /// What the per-rule checks of some rules found: diagnostics with the rule's position
    /// and their rank among the rule's checks (0: before the listener conflict, 2: after it),
    /// the live rules for the cross-rule checks, and what the rules' ids resolved to.
    private struct RuleChecks: Sendable {
        var diagnostics: [(position: Int, rank: Int, diagnostic: Diagnostic)] = []
        var live: [LiveRule] = []
        var resolved = ValidatedCorpus.ResolvedRules()
    }

    /// Every rule's own checks, on all cores for long rule lists; then, in rule order, the
    /// checks across rules (one rule per listener, one tier per public IP). Diagnostics come
    /// in rule order, each rule's in the order of its checks. Returns what the rules' ids
    /// resolved to.
    private mutating func checkRules(_ validated: ValidatedCorpus)
        -> ValidatedCorpus.ResolvedRules
    {
        let rules = corpus.loadBalancerRules
        let forwardedIPs = Dictionary(
            corpus.portForwardingRules.map { ($0.ipAddressID, $0.id) },
            uniquingKeysWith: { first, _ in first })
        let fresh = CorpusValidator(source: source, corpus: corpus)
        let parts = (0..<rules.count).split(
            into: rules.count >= CorpusDecoder.parallelListLength ? 64 : 1
        ).concurrentMap { range in
            var validator = fresh
            var checks = RuleChecks()
            checks.resolved.reserveCapacity(
                rules: range.count,
                addresses: range.reduce(0) { $0 + rules[$1].virtualMachineIDs.count })
            for position in range {
                validator.diagnostics.removeAll(keepingCapacity: true)
                // The rule is lent, not copied: a copy retains and releases all it holds.
                let (live, conflictRank) = validator.checkRule(
                    rules[position], position, validated, forwardedIPs: forwardedIPs,
                    resolving: &checks.resolved)
                for (offset, diagnostic) in validator.diagnostics.enumerated() {
                    checks.diagnostics.append(
                        (position, offset < conflictRank ? 0 : 2, diagnostic))
                }
                if let live { checks.live.append(live) }
            }
            return checks
        }
        let resolved = ValidatedCorpus.ResolvedRules(joining: parts.map(\.resolved))
        var found = parts.flatMap(\.diagnostics)
        // A listener (address << 16 | port) belongs to the first live rule that has it.
        let listeners = parts.flatMap { part in
            part.live.map {
                (key: UInt64($0.address.value) << 16 | UInt64($0.port), position: $0.position)
            }
        }
        for (position, first) in CorpusValidator.repeats(in: listeners) {
            let rule = corpus.loadBalancerRules[position]
            let address = corpus.publicIPAddresses[Int(resolved.publicIP[position])].ipAddress
            found.append(
                (
                    position, 1,
                    diagnostic(
                        "loadbalancerrules", position, "publicport", id: rule.id,
                        "conflicts with rule \"\(rules[first].id)\": both load balance \(address):\(rule.publicPort)"
                    )
                ))
        }
        // The tier of each public IP's first live rule.
        var tierOfIP = [Int?](repeating: nil, count: corpus.publicIPAddresses.count)
        var activeRules = 0
        for rule in parts.lazy.flatMap(\.live) {
            if rule.isActive { activeRules += 1 }
            if let otherPosition = tierOfIP[rule.ipPosition], otherPosition != rule.tierPosition {
                let other = corpus.networks[otherPosition].id
                found.append(
                    (
                        rule.position, 3,
                        diagnostic(
                            "loadbalancerrules", rule.position, "networkid", id: rule.id,
                            "all rules of public IP \(rule.address) must target one tier; it already load balances to \"\(other)\""
                        )
                    ))
            } else {
                tierOfIP[rule.ipPosition] = rule.tierPosition
            }
        }
        diagnostics += found.enumerated().sorted {
            ($0.element.position, $0.element.rank, $0.offset)
                < ($1.element.position, $1.element.rank, $1.offset)
        }.map(\.element.diagnostic)
        if activeRules > 0 && !inlineProviderEnabled() {
            diagnostics.append(
                source.diagnostic(
                    at: JSONPath.root.appending("physicalnetworks"),
                    "\(activeRules) live rule(s) need the \(inlineLBProviderName) provider, which is not enabled on any physical network (provider state Enabled and an enabled vpcinlineloadbalancerelement)"
                ))
        }
        return resolved
    }

    /// The checks of `rule`, at `position`, alone, reported in order. Returns the rule when it is
    /// live with a known public IP and tier, and how many diagnostics come before where the
    /// listener conflict would be reported. What its ids resolve to is appended to
    /// `resolved`.
    private mutating func checkRule(
        _ rule: borrowing LoadBalancerRule, _ position: Int, _ validated: ValidatedCorpus,
        forwardedIPs: [String: String], resolving resolved: inout ValidatedCorpus.ResolvedRules
    ) -> (live: LiveRule?, conflictRank: Int) {
        let id = rule.id
        let ipPosition = validated.publicIPIndex[rule.publicIPID]
        let tierPosition = validated.tierIndex[rule.networkID]
        let isActive = rule.isActive
        defer { resolved.endRule(tier: tierPosition, publicIP: ipPosition, isActive: isActive) }
        if ipPosition == nil {
            report(
                "loadbalancerrules", position, "publicipid", id: id,
                "unknown public IP \"\(rule.publicIPID)\"")
        }
        if tierPosition == nil {
            report(
                "loadbalancerrules", position, "networkid", id: id,
                "unknown network \"\(rule.networkID)\"")
        }
        switch rule.lbProtocol {
        case .udp:
            report(
                "loadbalancerrules", position, "protocol", id: id,
                "HAProxy does not support UDP")
        case .ssl:
            report(
                "loadbalancerrules", position, "protocol", id: id,
                "protocol ssl needs a certificate, which this provider cannot assign yet")
        case .tcp, .tcpProxy: break
        }
        if rule.publicPort == HAProxyDefaults.statsPort {
            report(
                "loadbalancerrules", position, "publicport", id: id,
                "public port \(rule.publicPort) is the load balancer's stats port")
        }
        if let policy = rule.stickiness { checkStickiness(policy, position, id: id) }
        if let policy = rule.healthCheck { checkHealthCheck(policy, position, id: id) }
        guard let tierPosition else { return (nil, diagnostics.count) }
        let tier = corpus.networks[tierPosition]
        checkVirtualMachines(
            of: rule, position, tier: tier, validated, resolving: &resolved)
        guard let ipPosition else { return (nil, diagnostics.count) }
        let ip = corpus.publicIPAddresses[ipPosition]
        let offering = validated.offering(of: tier)
        if offering.lbProvider != inlineLBProviderName {
            report(
                "loadbalancerrules", position, "networkid", id: id,
                "network \"\(tier.id)\" does not offer public LB through \(inlineLBProviderName) (its offering's Lb provider is \(offering.lbProvider ?? "none"))"
            )
        }
        if ip.vpcID != tier.vpcID {
            report(
                "loadbalancerrules", position, "publicipid", id: id,
                "public IP \(ip.ipAddress) belongs to VPC \"\(ip.vpcID)\" but network \"\(tier.id)\" is in VPC \"\(tier.vpcID)\""
            )
        }
        guard rule.state == .live else { return (nil, diagnostics.count) }
        let conflictRank = diagnostics.count
        if let vmID = ip.virtualMachineID {
            report(
                "loadbalancerrules", position, "publicipid", id: id,
                "public IP \(ip.ipAddress) has static NAT to VM \"\(vmID)\" and cannot take LB rules"
            )
        }
        if let forward = forwardedIPs[ip.id] {
            report(
                "loadbalancerrules", position, "publicipid", id: id,
                "public IP \(ip.ipAddress) has port forwarding rule \"\(forward)\" and cannot take LB rules"
            )
        }
        if let vpcPosition = validated.vpcIndex[ip.vpcID],
            corpus.vpcs[vpcPosition].sourceNATIP == ip.ipAddress
        {
            report(
                "loadbalancerrules", position, "publicipid", id: id,
                "public IP \(ip.ipAddress) is the VPC's source NAT IP, which cannot be statically NATed, so it cannot carry \(inlineLBProviderName) rules"
            )
        }
        let live = LiveRule(
            position: position, id: id, address: ip.ipAddress, port: rule.publicPort,
            ipPosition: ipPosition, tierPosition: tierPosition, isActive: isActive)
        return (live, conflictRank)
    }

    private func inlineProviderEnabled() -> Bool {
        corpus.physicalNetworks.contains { physical in
            physical.providers.contains { provider in
                provider.name == inlineLBProviderName && provider.state == "Enabled"
                    && physical.elements.contains { $0.nspID == provider.id && $0.enabled }
            }
        }
    }

    /// Checks the VMs of a rule in `tier` and appends each, with its address there, to
    /// `resolved`.
    private mutating func checkVirtualMachines(
        of rule: borrowing LoadBalancerRule, _ position: Int, tier: Tier,
        _ validated: ValidatedCorpus,
        resolving resolved: inout ValidatedCorpus.ResolvedRules
    ) {
        let vmIDs = rule.virtualMachineIDs
        for (slot, vmID) in vmIDs.enumerated() {
            func fail(_ message: String) {
                let path = JSONPath.root.appending("loadbalancerrules").appending(position)
                    .appending("virtualmachineids").appending(slot)
                diagnostics.append(
                    source.diagnostic(at: path, entity: "id \"\(rule.id)\"", message))
            }
            // Rules have a handful of VMs: a scan of the earlier ones beats a set.
            guard !vmIDs[..<slot].contains(vmID) else {
                fail("VM \"\(vmID)\" is assigned to the rule twice")
                continue
            }
            guard let vmPosition = validated.vmIndex[vmID] else {
                fail("unknown VM \"\(vmID)\"")
                continue
            }
            // The VM's fields are read in place: a copy of it would retain and release all
            // it holds, for every VM of every rule.
            let nics = corpus.virtualMachines[vmPosition].nics
            if let nic = nics.first(where: { $0.networkID == tier.id }) {
                resolved.appendVM(vmPosition, address: nic.ipAddress)
            } else {
                fail("VM \"\(vmID)\" has no NIC in network \"\(tier.id)\"")
            }
            let state = corpus.virtualMachines[vmPosition].state
            if state == "Destroyed" || state == "Expunging" {
                fail("VM \"\(vmID)\" is \(state) and cannot be assigned")
            }
        }
    }

    static let stickinessParameters: [StickinessPolicy.Method: [String]] = [
        .lbCookie: ["cookie-name", "mode", "nocache", "indirect", "postonly", "domain"],
        .appCookie: ["cookie-name", "length", "holdtime", "request-learn", "prefix", "mode"],
        .sourceBased: ["tablesize", "expire"],
    ]
    static let stickinessFlags = ["nocache", "indirect", "postonly", "request-learn", "prefix"]

    private mutating func checkStickiness(_ policy: StickinessPolicy, _ position: Int, id: String) {
        let base = JSONPath.root.appending("loadbalancerrules").appending(position)
            .appending("stickinesspolicy").appending("params")
        let allowed = CorpusValidator.stickinessParameters[policy.method] ?? []
        let flags = CorpusValidator.stickinessFlags
        for (name, value) in policy.params {
            let key = name.lowercased()
            func fail(_ message: String) {
                diagnostics.append(
                    source.diagnostic(at: base.appending(name), entity: "id \"\(id)\"", message))
            }
            guard allowed.contains(key) else {
                var message = "\(policy.method.rawValue) has no parameter \"\(name)\""
                if let suggestion = closestName(to: name, among: allowed) {
                    message += "; did you mean \"\(suggestion)\"?"
                }
                fail(message)
                continue
            }
            if flags.contains(key) {
                if value != "true" { fail("\(name) is a flag: give true or leave it out") }
                continue
            }
            switch (policy.method, key) {
            case (.lbCookie, "mode"):
                if !["insert", "rewrite", "prefix"].contains(value) {
                    fail("mode \"\(value)\" is not one of insert, rewrite, prefix")
                }
            case (.appCookie, "mode"):
                if !["path-parameters", "query-string"].contains(value) {
                    fail("mode \"\(value)\" is not one of path-parameters, query-string")
                }
            case (_, "cookie-name"), (_, "domain"):
                if value.isEmpty
                    || value.contains(where: {
                        $0 == " " || $0 == ";" || $0 == "," || $0 == "=" || $0 == "\t"
                    })
                {
                    fail(
                        "\(name) \"\(value)\" must be a non-empty token without spaces, ';', ',' or '='"
                    )
                }
            case (_, "length"):
                if !StickinessGrammar.isDigits(value) || value.count > 6 {
                    fail("length \"\(value)\" must be an integer")
                }
            case (_, "holdtime"):
                if !StickinessGrammar.isDuration(value) {
                    fail(
                        "holdtime \"\(value)\" must be an integer with an optional d, h, m or s unit"
                    )
                }
            case (_, "tablesize"):
                if !StickinessGrammar.isSize(value) {
                    fail("tablesize \"\(value)\" must be digits with an optional k, m or g unit")
                }
            case (_, "expire"):
                if !StickinessGrammar.isDuration(value) {
                    fail("expire \"\(value)\" must be digits with an optional d, h, m or s unit")
                }
            default: break
            }
        }
        if policy.method == .appCookie && policy.param("prefix") != nil {
            diagnostics.append(
                source.diagnostic(
                    at: base.appending("prefix"), entity: "id \"\(id)\"",
                    "AppCookie prefix matching needs appsession, which HAProxy removed in 1.6; it has no stick-table equivalent"
                ))
        }
    }

    private mutating func checkHealthCheck(_ policy: HealthCheckPolicy, _ position: Int, id: String)
    {
        let base = JSONPath.root.appending("loadbalancerrules").appending(position).appending(
            "healthcheckpolicy")
        func fail(_ field: String, _ message: String) {
            diagnostics.append(
                source.diagnostic(at: base.appending(field), entity: "id \"\(id)\"", message))
        }
        if !policy.pingPath.hasPrefix("/")
            || policy.pingPath.contains(where: { $0 == " " || $0 == "\t" })
        {
            fail(
                "pingpath",
                "pingpath \"\(policy.pingPath)\" must start with '/' and contain no spaces")
        }
        if policy.responseTimeout < 1 {
            fail("responsetimeout", "responsetimeout must be at least 1 second")
        }
        if policy.intervalTime < 1 {
            fail("intervaltime", "intervaltime must be at least 1 second")
        }
        if policy.responseTimeout > policy.intervalTime {
            fail(
                "responsetimeout",
                "responsetimeout \(policy.responseTimeout) must not exceed intervaltime \(policy.intervalTime)"
            )
        }
        if policy.healthyThreshold < 1 {
            fail("healthythreshold", "healthythreshold must be at least 1")
        }
        if policy.unhealthyThreshold < 1 {
            fail("unhealthythreshold", "unhealthythreshold must be at least 1")
        }
    }
}

/// The value grammars of stickiness parameters.
enum StickinessGrammar {
    static func isDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.allSatisfy(\.isASCIIDigitCharacter)
    }

    static func isDuration(_ text: String) -> Bool {
        guard let last = text.last else { return false }
        return "dhms".contains(last)
            ? isDigits(text.dropLast()) && text.count <= 10 : isDigits(text) && text.count <= 10
    }

    static func isSize(_ text: String) -> Bool {
        guard let last = text.last else { return false }
        return "kmg".contains(last)
            ? isDigits(text.dropLast()) && text.count <= 10 : isDigits(text) && text.count <= 10
    }
}
