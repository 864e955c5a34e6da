import InlineLBCore

/// Everything the simulator knows, read from a compiled output folder only: the routers
/// with their rules, the appliances with their addresses, firewall and HAProxy config,
/// and the VMs.
public struct SimulatedDeployment: Sendable {
    /// One VPC router.
    struct Router: Sendable {
        var vpc: Topology.VPC
        var netfilter: NetfilterEngine
        /// Addresses the router itself holds: its public IPs and the tier gateways.
        var ownAddresses: Set<IPv4Address>
        /// `router <vpc>`, as traces name it.
        var traceName: String { "router \(vpc.id)" }
    }

    /// One appliance host.
    struct Appliance: Sendable {
        var name: String
        var vpcIndex: Int
        var tierIndex: Int
        var running: Bool
        var addresses: ApplianceAddresses
        var netfilter: NetfilterEngine
        var haproxy: HAProxyConfig
        /// Why HAProxy cannot start (a bind address the appliance does not hold), if so.
        var startFailure: String?
        /// The proxy listening on each bound address and port (address 0: every address).
        var listeners: [UInt64: Int]
        /// `appliance <name>`, as traces name it.
        let traceName: String

        /// The proxy that accepts connections to `address`:`port`, if any; a specific bind
        /// wins over a wildcard one, the first proxy in the file over later ones.
        func listener(_ address: IPv4Address, _ port: Int) -> Int? {
            listeners[UInt64(address.value) << 16 | UInt64(port)] ?? listeners[UInt64(port)]
        }
    }

    /// The three files of one appliance, parsed.
    private struct ParsedAppliance: Sendable {
        var addresses: ApplianceAddresses
        var haproxy: HAProxyConfig
        var firewall: IptablesRuleset
    }

    /// What answers at an address inside a tier.
    enum Host: Sendable {
        case appliance(Int)
        case virtualMachine(Topology.VirtualMachine)
    }

    var routers: [Router] = []
    var appliances: [Appliance] = []
    /// Hosts by (vpc, tier) and address; stopped VMs and appliances hold nothing.
    var hosts: [[[IPv4Address: Host]]] = []
    /// The router holding each public address.
    var routerOfPublicAddress: [IPv4Address: Int] = [:]
    public let topology: Topology

    /// Loads the output folder at `folder`.
    public init(folder: String) throws(ArtifactError) {
        @Sendable func read(_ relative: String) throws(ArtifactError) -> [UInt8] {
            do {
                return try FileBytes.read(folder + "/" + relative)
            } catch {
                throw ArtifactError(file: relative, line: 0, "cannot read: \(error.reason)")
            }
        }
        @Sendable func text(_ relative: String) throws(ArtifactError) -> String {
            String(decoding: try read(relative), as: UTF8.self)
        }
        topology = try Topology(bytes: try read("topology.json"), file: "topology.json")
        // Every file is parsed first, on all cores; errors are raised below in file order.
        let rulesets = topology.vpcs.concurrentMap { vpc in
            Result { () throws(ArtifactError) in
                try IptablesParser.parse(try text(vpc.iptablesFile), file: vpc.iptablesFile)
            }
        }
        let applianceFiles = topology.vpcs.flatMap { $0.tiers.compactMap(\.appliance) }
            .concurrentMap { appliance in
                Result { () throws(ArtifactError) in
                    ParsedAppliance(
                        addresses: try ApplianceAddresses(
                            bytes: try read(appliance.addressesFile),
                            file: appliance.addressesFile),
                        haproxy: try HAProxyParser.parse(
                            try text(appliance.haproxyFile), file: appliance.haproxyFile),
                        firewall: try IptablesParser.parse(
                            try text(appliance.iptablesFile), file: appliance.iptablesFile))
                }
            }
        var nextAppliance = 0
        for (vpcIndex, vpc) in topology.vpcs.enumerated() {
            let ruleset = try rulesets[vpcIndex].get()
            var own = Set(vpc.publicIPs.map(\.address) + vpc.tiers.map(\.gateway))
            if let sourceNAT = vpc.sourceNATIP { own.insert(sourceNAT) }
            routers.append(
                Router(vpc: vpc, netfilter: NetfilterEngine(ruleset: ruleset), ownAddresses: own))
            for address in own where !vpc.tiers.contains(where: { $0.gateway == address }) {
                routerOfPublicAddress[address] = vpcIndex
            }
            var tierHosts: [[IPv4Address: Host]] = []
            for (tierIndex, tier) in vpc.tiers.enumerated() {
                var hostsHere: [IPv4Address: Host] = [:]
                for vm in tier.virtualMachines where vm.running {
                    hostsHere[vm.address] = .virtualMachine(vm)
                }
                if let appliance = tier.appliance {
                    let parsed = try applianceFiles[nextAppliance].get()
                    nextAppliance += 1
                    let (addresses, haproxy, firewall) = (
                        parsed.addresses, parsed.haproxy, parsed.firewall
                    )
                    let held = Set([addresses.guestIP] + addresses.secondaryIPs)
                    var failure: String?
                    for proxy in haproxy.proxies {
                        for bind in proxy.binds {
                            if let address = bind.address, !held.contains(address) {
                                failure =
                                    "haproxy cannot start: bind \(address):\(bind.port) at \(appliance.haproxyFile):\(bind.line) is not an address of \(appliance.name)"
                            }
                        }
                    }
                    var listeners: [UInt64: Int] = [:]
                    for (position, proxy) in haproxy.proxies.enumerated() {
                        for bind in proxy.binds {
                            let key = UInt64(bind.address?.value ?? 0) << 16 | UInt64(bind.port)
                            if listeners[key] == nil { listeners[key] = position }
                        }
                    }
                    let index = appliances.count
                    appliances.append(
                        Appliance(
                            name: appliance.name, vpcIndex: vpcIndex, tierIndex: tierIndex,
                            running: appliance.running,
                            addresses: addresses, netfilter: NetfilterEngine(ruleset: firewall),
                            haproxy: haproxy, startFailure: failure, listeners: listeners,
                            traceName: "appliance \(appliance.name)"))
                    if appliance.running {
                        for address in held { hostsHere[address] = .appliance(index) }
                    }
                }
                tierHosts.append(hostsHere)
            }
            hosts.append(tierHosts)
        }
    }
}
