import InlineLBCore

/// Computes the actions that take a deployment from a stored state to what a corpus
/// wants, following the VPC Inline LB element's apply flow (REFERENCE.md §1).
///
/// Pure and deterministic: addresses are allocated lowest free first, tiers are visited in
/// corpus order, new public IPs get mappings in the order of their first live rule.
public struct Planner {
    /// The link-local range used for control NICs (network, gateway and broadcast excluded).
    public static let linkLocalRange = (
        first: IPv4Address(0xA9FE_0002), last: IPv4Address(0xA9FE_FFFE)
    )

    private let corpus: ValidatedCorpus
    private let restarts: [String: NetworkRestart]
    private var previous: [ApplianceRecord]
    private let previousByNetwork: [String: ApplianceRecord]
    private var counters: DeploymentState
    private var actions: [Action] = []
    private var kept: [Int: AppliancePlan] = [:]
    private var created: [AppliancePlan] = []
    private var linkLocalPool: AddressPool
    private var pools: [PoolUsage] = []
    /// Positions of each tier's active rules, by tier position.
    private let rulesByTier: [[Int]]
    /// Tiers planned up to step 6, in corpus order; `actions` up to `actionsEnd` are theirs
    /// and those of the tiers before them.
    private var pending: [(tier: PendingTier, actionsEnd: Int)] = []

    /// A tier with a live rule, planned up to its translation (step 6), which is done for
    /// all tiers at once on all cores.
    private struct PendingTier: Sendable {
        var tier: Tier
        /// Positions of the tier's active rules.
        var rules: [Int]
        var record: ApplianceRecord
        var mustSend: Bool
        var wantRunning: Bool
        var existed: Bool
    }

    /// Plans the transition from `state` to `corpus`, applying `restarts` afterwards.
    ///
    /// `linkLocalInUse` holds the link-local addresses of appliances left out of `state`
    /// and `corpus`: an incremental apply plans a few VPCs against their appliances alone.
    public static func plan(
        state: DeploymentState, corpus: ValidatedCorpus, restarts: [NetworkRestart] = [],
        linkLocalInUse: [IPv4Address] = []
    ) throws(PlanError) -> Plan {
        var planner = try Planner(
            state: state, corpus: corpus, restarts: restarts, linkLocalInUse: linkLocalInUse)
        return try planner.run()
    }

    private init(
        state: DeploymentState, corpus: ValidatedCorpus, restarts: [NetworkRestart],
        linkLocalInUse: [IPv4Address]
    ) throws(PlanError) {
        self.corpus = corpus
        var byNetwork: [String: NetworkRestart] = [:]
        for restart in restarts {
            guard let position = corpus.tierIndex[restart.networkID] else {
                throw PlanError(message: "cannot restart unknown network \"\(restart.networkID)\"")
            }
            guard corpus.usesInlineLB(corpus.corpus.networks[position]) else {
                throw PlanError(
                    message:
                        "network \"\(restart.networkID)\" does not use the \(inlineLBProviderName) provider"
                )
            }
            byNetwork[restart.networkID] = restart
        }
        self.restarts = byNetwork
        previous = state.appliances
        previousByNetwork = Dictionary(
            state.appliances.map { ($0.networkID, $0) }, uniquingKeysWith: { first, _ in first })
        counters = state
        counters.appliances = []
        linkLocalPool = AddressPool(
            first: Planner.linkLocalRange.first, last: Planner.linkLocalRange.last)
        for address in linkLocalInUse where !linkLocalPool.reserve(address) {
            throw PlanError(
                message: "link-local address \(address) is outside 169.254.0.0/16 or held twice")
        }
        for appliance in state.appliances where !linkLocalPool.reserve(appliance.linkLocalIP) {
            throw PlanError(
                message:
                    "state is inconsistent: link-local address \(appliance.linkLocalIP) of \(appliance.name) is outside 169.254.0.0/16 or held twice"
            )
        }
        var rules = [[Int]](repeating: [], count: corpus.corpus.networks.count)
        let resolved = corpus.resolvedRules
        for position in resolved.isActive.indices where resolved.isActive[position] {
            rules[Int(resolved.tier[position])].append(position)
        }
        rulesByTier = rules
    }

    private mutating func run() throws(PlanError) -> Plan {
        // Room for what the tiers plan at once (three actions a mapping made or released, a
        // few a tier): grown by doubling, a million rules' 300,000 actions were copied
        // over and over into ever larger arrays, each faulted in afresh. Room not used is
        // never touched.
        let mappings = previous.reduce(0) { $0 + $1.mappings.count }
        actions.reserveCapacity(
            3 * (corpus.corpus.publicIPAddresses.count + mappings)
                + 4 * (corpus.corpus.networks.count + previous.count))
        var served = Set<String>()
        for (position, tier) in corpus.corpus.networks.enumerated() where corpus.usesInlineLB(tier)
        {
            served.insert(tier.id)
            try planTier(tier, rules: rulesByTier[position])
        }
        for record in previous where !served.contains(record.networkID) {
            var noPool: AddressPool?
            destroy(
                record, reason: "network no longer served by \(inlineLBProviderName)", pool: &noPool
            )
        }
        // Step 6 of every tier: translations and digests on all cores, then each tier's
        // actions put back in place after the ones planned before it.
        let corpus = self.corpus
        let configs = pending.map(\.tier).concurrentMap { pending in
            let config = Planner.translate(
                pending.tier, rules: pending.rules, record: pending.record, corpus: corpus)
            return (config, config.canonicalDigest)
        }
        let planned = actions
        // At full size at once: grown by doubling, the copies of a million rules' 300,000
        // actions faulted in twice their 55 MB of new memory, on one core.
        actions = []
        actions.reserveCapacity(planned.count + 2 * pending.count)
        var start = 0
        for ((pending, actionsEnd), (config, digest)) in zip(pending, configs) {
            actions += planned[start..<actionsEnd]
            start = actionsEnd
            finishTier(pending, config: config, digest: digest)
        }
        actions += planned[start...]
        pools.append(
            PoolUsage(
                name: "link-local", first: linkLocalPool.range.lowerBound,
                last: linkLocalPool.range.upperBound,
                capacity: linkLocalPool.capacity, free: linkLocalPool.freeCount))
        var appliances = previous.compactMap { kept[$0.number] }
        appliances += created
        var state = counters
        state.appliances = appliances.map(\.record)
        return Plan(state: state, actions: actions, appliances: appliances, pools: pools)
    }

    // MARK: - One tier

    /// Plans `tier`, whose active rules are at positions `rules`.
    private mutating func planTier(_ tier: Tier, rules: [Int]) throws(PlanError) {
        var pool = try tierPool(tier)
        defer {
            pools.append(
                PoolUsage(
                    name: tier.id, first: pool.range.lowerBound, last: pool.range.upperBound,
                    capacity: pool.capacity, free: pool.freeCount))
        }
        // The tier's public IPs with active rules, in the order of their first rule.
        var activeIPs: [String] = []
        var seen = Set<Int32>()
        for rule in rules {
            let ip = corpus.resolvedRules.publicIP[rule]
            if seen.insert(ip).inserted {
                activeIPs.append(corpus.corpus.publicIPAddresses[Int(ip)].id)
            }
        }
        let activeSet = Set(activeIPs)
        let restart = restarts[tier.id]
        var existing = previousByNetwork[tier.id]
        var optionalPool: AddressPool? = pool

        guard !activeIPs.isEmpty else {
            if let existing {
                destroy(existing, reason: "last live rule removed", pool: &optionalPool)
            }
            pool = optionalPool ?? pool
            return
        }

        var mappingOrder = existing?.mappings.map(\.publicIPID) ?? []
        if let record = existing, restart?.cleanup == true {
            destroy(record, reason: "restart with cleanup", pool: &optionalPool)
            existing = nil
        }
        pool = optionalPool ?? pool
        mappingOrder = mappingOrder.filter(activeSet.contains)
        let alreadyMapped = Set(mappingOrder)
        mappingOrder += activeIPs.filter { !alreadyMapped.contains($0) }

        let desired =
            corpus.corpus.applianceIntents.first { $0.networkID == tier.id }?.state ?? .running
        let wantRunning = restart != nil || desired == .running
        var mustSend = false
        var record: ApplianceRecord
        if let existing {
            record = existing
            if record.state == .stopped && wantRunning {
                emit(
                    .startAppliance, record,
                    reason: restart == nil ? "desired state Running" : "restart network")
                record.state = .running
                mustSend = true
                for mapping in record.mappings {
                    emit(.enableStaticNat, record, mapping, reason: "re-applied on start")
                }
            } else if restart != nil && record.state == .running {
                mustSend = true
                for mapping in record.mappings {
                    emit(.enableStaticNat, record, mapping, reason: "re-applied on restart")
                }
            }
        } else {
            record = try deploy(
                tier, pool: &pool,
                reason: restart?.cleanup == true ? "restart with cleanup" : "first live rule")
            mustSend = true
        }

        // Step 4: a mapping for every active public IP that lacks one.
        let recordMapped = Set(record.mappings.map(\.publicIPID))
        for publicIPID in mappingOrder where !recordMapped.contains(publicIPID) {
            let publicIP = corpus.corpus.publicIPAddresses[corpus.publicIPIndex[publicIPID]!]
            let secondary: IPv4Address
            do {
                secondary = try pool.allocate()
            } catch {
                throw PlanError(
                    message:
                        "network \"\(tier.id)\" (\(tier.cidr)): no free guest address left for the secondary IP of public IP \(publicIP.ipAddress) (\(error))"
                )
            }
            let mapping = LoadBalancerMapping(
                number: counters.nextMappingNumber, publicIPID: publicIPID,
                publicIP: publicIP.ipAddress,
                secondaryIP: secondary)
            counters.nextMappingNumber += 1
            record.mappings.append(mapping)
            emit(.addSecondaryIp, record, mapping, reason: "public IP got its first live rule")
            emit(.enableStaticNat, record, mapping, reason: "public IP got its first live rule")
            if record.state == .running {
                var action = makeAction(
                    .addApplianceAddress, record, mapping, reason: "listen on the secondary IP")
                action.gateway = tier.gateway
                action.netmask = tier.cidr.netmask
                action.macAddress = record.guestMACAddress
                actions.append(action)
            }
            mustSend = true
        }

        // Step 5: release mappings of public IPs left without live rules.
        for mapping in record.mappings where !activeSet.contains(mapping.publicIPID) {
            emit(.disableStaticNat, record, mapping, reason: "public IP lost its last live rule")
            if record.state == .running {
                emit(
                    .removeApplianceAddress, record, mapping,
                    reason: "public IP lost its last live rule")
            }
            emit(.removeSecondaryIp, record, mapping, reason: "public IP lost its last live rule")
            pool.release(mapping.secondaryIP)
            mustSend = true
        }
        record.mappings.removeAll { !activeSet.contains($0.publicIPID) }

        pending.append(
            (
                PendingTier(
                    tier: tier, rules: rules, record: record, mustSend: mustSend,
                    wantRunning: wantRunning, existed: existing != nil),
                actions.count
            ))
    }

    /// Step 6: send the translated rules when they or the appliance changed; then stop the
    /// appliance if it is to be stopped.
    private mutating func finishTier(
        _ pending: PendingTier, config: LoadBalancerConfig, digest: String
    ) {
        var record = pending.record
        let mustSend = pending.mustSend
        if record.state == .running && (mustSend || digest != record.sentConfigDigest) {
            var action = makeAction(
                .applyLbConfig, record, nil,
                reason: mustSend ? "appliance or mappings changed" : "rules changed")
            action.ruleCount = config.rules.count
            action.configDigest = digest
            actions.append(action)
            record.sentConfigDigest = digest
        }
        if record.state == .running && !pending.wantRunning {
            emit(.stopAppliance, record, reason: "desired state Stopped")
            record.state = .stopped
        }

        let plan = AppliancePlan(record: record, config: config, configDigest: digest)
        if pending.existed { kept[record.number] = plan } else { created.append(plan) }
    }

    /// The tier's guest pool: hosts of the CIDR minus gateway, VM addresses and the
    /// addresses the stored appliance holds.
    private func tierPool(_ tier: Tier) throws(PlanError) -> AddressPool {
        var pool = AddressPool(hostsOf: tier.cidr)
        pool.reserve(tier.gateway)
        var holders: [IPv4Address: String] = [:]
        for nic in corpus.nicsOfTier[corpus.tierIndex[tier.id]!] {
            pool.reserve(nic.address)
            holders[nic.address] = corpus.corpus.virtualMachines[nic.vm].id
        }
        guard let record = previousByNetwork[tier.id] else { return pool }
        for address in [record.guestIP] + record.mappings.map(\.secondaryIP)
        where !pool.reserve(address) {
            let reason =
                holders[address].map { "the corpus gives it to VM \"\($0)\"" }
                ?? (tier.cidr.contains(address)
                    ? "it is the gateway or held twice" : "it is outside \(tier.cidr)")
            throw PlanError(
                message:
                    "stored state conflicts with the corpus: appliance \(record.name) holds \(address) in network \"\(tier.id)\", but \(reason)"
            )
        }
        return pool
    }

    private mutating func deploy(_ tier: Tier, pool: inout AddressPool, reason: String)
        throws(PlanError) -> ApplianceRecord
    {
        let guestIP: IPv4Address
        let linkLocalIP: IPv4Address
        do {
            guestIP = try pool.allocate()
        } catch {
            throw PlanError(
                message:
                    "network \"\(tier.id)\" (\(tier.cidr)): no free guest address left for the appliance (\(error))"
            )
        }
        do {
            linkLocalIP = try linkLocalPool.allocate()
        } catch {
            throw PlanError(
                message: "no free link-local address left for a new appliance (\(error))")
        }
        let record = ApplianceRecord(
            number: counters.nextApplianceNumber, vpcID: tier.vpcID, networkID: tier.id,
            guestIP: guestIP,
            linkLocalIP: linkLocalIP, state: .running, mappings: [], sentConfigDigest: nil)
        counters.nextApplianceNumber += 1
        var action = makeAction(.deployAppliance, record, nil, reason: reason)
        action.guestIP = guestIP
        action.linkLocalIP = linkLocalIP
        actions.append(action)
        return record
    }

    /// Destroys an appliance: static NATs revoked and secondary IPs deleted (mapping order),
    /// then the VM. Addresses return to `pool` when given.
    private mutating func destroy(
        _ record: ApplianceRecord, reason: String, pool: inout AddressPool?
    ) {
        for mapping in record.mappings {
            emit(.disableStaticNat, record, mapping, reason: reason)
            emit(.removeSecondaryIp, record, mapping, reason: reason)
            pool?.release(mapping.secondaryIP)
        }
        pool?.release(record.guestIP)
        linkLocalPool.release(record.linkLocalIP)
        emit(.destroyAppliance, record, reason: reason)
    }

    private static func translate(
        _ tier: Tier, rules: [Int], record: ApplianceRecord, corpus: ValidatedCorpus
    ) -> LoadBalancerConfig {
        let offering = corpus.offering(of: tier)
        let model = corpus.corpus
        let resolved = corpus.resolvedRules
        var secondaryOf: [Int32: IPv4Address] = [:]
        for mapping in record.mappings {
            secondaryOf[Int32(corpus.publicIPIndex[mapping.publicIPID]!)] = mapping.secondaryIP
        }
        // Fields are read in place: a copy of the whole rule would retain and release every
        // reference it holds.
        let translated = model.loadBalancerRules.withUnsafeBufferPointer { ruleList in
            rules.map { position in
                let ip = resolved.publicIP[position]
                let vmIDs = ruleList[position].virtualMachineIDs
                let addresses = resolved.vmAddresses(ofRule: position)
                let port = ruleList[position].privatePort
                return TranslatedRule(
                    ruleID: ruleList[position].id,
                    publicIP: model.publicIPAddresses[Int(ip)].ipAddress,
                    sourceIP: secondaryOf[ip]!, sourcePort: ruleList[position].publicPort,
                    algorithm: ruleList[position].algorithm,
                    lbProtocol: ruleList[position].lbProtocol, cidrs: ruleList[position].cidrs,
                    destinations: (0..<min(vmIDs.count, addresses.count)).map { index in
                        TranslatedRule.Destination(
                            vmID: vmIDs[index],
                            address: addresses[addresses.startIndex + index], port: port)
                    },
                    stickiness: ruleList[position].stickiness,
                    healthCheck: ruleList[position].healthCheck)
            }
        }
        return LoadBalancerConfig(
            appliance: record.name, guestIP: record.guestIP,
            maxConnections: offering.concurrentConnections ?? HAProxyDefaults.maxConnections,
            keepAliveEnabled: offering.keepAliveEnabled, rules: translated)
    }

    // MARK: - Actions

    private func makeAction(
        _ kind: Action.Kind, _ record: ApplianceRecord, _ mapping: LoadBalancerMapping?,
        reason: String
    ) -> Action {
        Action(
            kind: kind, vpcID: record.vpcID, networkID: record.networkID, appliance: record.name,
            publicIPID: mapping?.publicIPID, publicIP: mapping?.publicIP,
            secondaryIP: mapping?.secondaryIP,
            reason: reason)
    }

    private mutating func emit(
        _ kind: Action.Kind, _ record: ApplianceRecord, _ mapping: LoadBalancerMapping? = nil,
        reason: String
    ) {
        actions.append(makeAction(kind, record, mapping, reason: reason))
    }
}
