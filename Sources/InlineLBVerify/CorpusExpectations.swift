import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator

extension Expectations {
    /// The expectations a corpus states: each live rule with destination VMs delivers to its
    /// running VMs on the private port, within the tier ACL and the rule's cidrlist, while
    /// the tier's appliance is wanted Running; each VM static NAT delivers to its VM; revoked
    /// rules and rules without VMs deliver nothing. Built from the corpus alone, so that a
    /// planner mistake cannot hide itself.
    public init(corpus validated: ValidatedCorpus) {
        let corpus = validated.corpus
        func acl(of tier: Tier) -> IngressACL {
            let items = tier.acl.enumerated()
                .filter { $0.element.trafficType == .ingress }
                .sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }
                .map { _, item in
                    IngressACL.Item(
                        allow: item.action == .allow,
                        tcpOnly: item.ipProtocol == .all ? nil : item.ipProtocol == .tcp,
                        ports: item.startPort.map { $0...(item.endPort ?? $0) }, sources: item.cidrs
                    )
                }
            return IngressACL(items: items)
        }
        // Per tier, once: its ingress ACL and whether its appliance is wanted Running.
        let tierACLs = corpus.networks.map(acl(of:))
        var wantedState: [String: ApplianceIntent.State] = [:]
        for intent in corpus.applianceIntents where wantedState[intent.networkID] == nil {
            wantedState[intent.networkID] = intent.state
        }
        var listeners: [Listener] = []
        listeners.reserveCapacity(corpus.loadBalancerRules.count)
        var silent: [(IPv4Address, Int)] = []
        let resolved = validated.resolvedRules
        for (position, rule) in corpus.loadBalancerRules.enumerated() {
            let publicIP = corpus.publicIPAddresses[Int(resolved.publicIP[position])].ipAddress
            guard rule.isActive else {
                silent.append((publicIP, rule.publicPort))
                continue
            }
            let tierPosition = Int(resolved.tier[position])
            let tier = corpus.networks[tierPosition]
            let backends = zip(
                rule.virtualMachineIDs,
                zip(resolved.vms(ofRule: position), resolved.vmAddresses(ofRule: position))
            ).map { vmID, resolvedVM in
                let (vm, address) = resolvedVM
                return Backend(
                    vmID: vmID, address: address, port: rule.privatePort,
                    running: corpus.virtualMachines[Int(vm)].state == "Running")
            }
            listeners.append(
                Listener(
                    ruleID: rule.id, publicIP: publicIP, publicPort: rule.publicPort,
                    algorithm: rule.algorithm.rawValue,
                    stickiness: rule.stickiness?.method.rawValue, backends: backends,
                    allowedClients: rule.cidrs,
                    acl: tierACLs[tierPosition],
                    applianceRunning: (wantedState[tier.id] ?? .running) == .running))
        }
        var nats: [StaticNAT] = []
        for ip in corpus.publicIPAddresses {
            guard let vmID = ip.virtualMachineID else { continue }
            let vm = corpus.virtualMachines[validated.vmIndex[vmID]!]
            guard
                let nic = vm.nics.first(where: {
                    validated.tierIndex[$0.networkID].map { corpus.networks[$0].vpcID == ip.vpcID }
                        ?? false
                }),
                let tier = validated.tierIndex[nic.networkID].map({ corpus.networks[$0] })
            else { continue }
            nats.append(
                StaticNAT(
                    publicIP: ip.ipAddress,
                    backend: Backend(
                        vmID: vmID, address: nic.ipAddress, port: 0, running: vm.state == "Running"),
                    acl: acl(of: tier)))
        }
        self.init(listeners: listeners, staticNATs: nats, silentTargets: silent)
    }
}
