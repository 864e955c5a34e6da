import InlineLBCore

/// Everything the simulator knows, read from a compiled output folder only: the routers
/// with their rules, the appliances with their addresses, firewall and HAProxy config,
/// and the VMs.
public struct SimulatedDeployment: Sendable {
    /// One VPC router. A class: flows read it on every hop, and a reference costs one
    /// retain where a copy of the value would cost one per field.
    final class Router: Sendable {
        let vpc: Topology.VPC
        let netfilter: NetfilterEngine
        /// Addresses the router itself holds: its public IPs and the tier gateways.
        let ownAddresses: Set<IPv4Address>
        /// `router <vpc>`, as traces name it.
        let traceName: String

        init(vpc: Topology.VPC, netfilter: NetfilterEngine, ownAddresses: Set<IPv4Address>) {
            self.vpc = vpc
            self.netfilter = netfilter
            self.ownAddresses = ownAddresses
            traceName = "router \(vpc.id)"
        }
    }

    /// One appliance host (a class, as ``Router`` is).
    final class Appliance: Sendable {
        let name: String
        let vpcIndex: Int
        let tierIndex: Int
        let running: Bool
        let addresses: ApplianceAddresses
        let netfilter: NetfilterEngine
        /// The proxies of its haproxy.cfg, in file order.
        let proxies: [Proxy]
        /// Why HAProxy cannot start (a bind address the appliance does not hold), if so.
        let startFailure: String?
        /// The proxy listening on each bound address and port (address 0: every address).
        let listeners: [UInt64: Int]
        /// `appliance <name>`, as traces name it.
        let traceName: String

        init(
            name: String, vpcIndex: Int, tierIndex: Int, running: Bool,
            addresses: ApplianceAddresses, netfilter: NetfilterEngine, haproxy: HAProxyConfig,
            startFailure: String?, listeners: [UInt64: Int]
        ) {
            var positions: [String: Int] = [:]
            for (position, proxy) in haproxy.proxies.enumerated() {
                positions[proxy.name] = positions[proxy.name] ?? position
            }
            proxies = haproxy.proxies.enumerated().map { position, section in
                Proxy(
                    section: section,
                    backend: section.defaultBackend.flatMap { positions[$0] } ?? position,
                    line: SourceLine(file: haproxy.file, line: section.line))
            }
            self.name = name
            self.vpcIndex = vpcIndex
            self.tierIndex = tierIndex
            self.running = running
            self.addresses = addresses
            self.netfilter = netfilter
            self.startFailure = startFailure
            self.listeners = listeners
            traceName = "appliance \(name)"
        }

        /// The proxy that accepts connections to `address`:`port`, if any; a specific bind
        /// wins over a wildcard one, the first proxy in the file over later ones.
        func listener(_ address: IPv4Address, _ port: Int) -> Int? {
            listeners[UInt64(address.value) << 16 | UInt64(port)] ?? listeners[UInt64(port)]
        }
    }

    /// One HAProxy proxy as flows use it (a class, as ``Router`` is).
    final class Proxy: Sendable {
        /// The parsed section.
        let section: HAProxyProxy
        /// The position of the proxy whose servers take its connections: its
        /// `default_backend`, or itself.
        let backend: Int
        /// Where the section starts.
        let line: SourceLine

        init(section: HAProxyProxy, backend: Int, line: SourceLine) {
            self.section = section
            self.backend = backend
            self.line = line
        }

        /// The haproxy.cfg line `line`.
        func sourceLine(_ line: Int) -> SourceLine {
            SourceLine(file: self.line.file, line: line)
        }
    }

    /// What answers at an address inside a tier.
    enum Host: Sendable {
        case appliance(Int)
        case virtualMachine(Topology.VirtualMachine)
    }

    var routers: [Router] = []
    var appliances: [Appliance] = []
    /// Proxies are numbered across the deployment, appliance after appliance: the number of
    /// each appliance's first proxy, then the total.
    var firstProxyNumber: [Int] = []
    /// Hosts by (vpc, tier) and address; stopped VMs and appliances hold nothing.
    var hosts: [[[IPv4Address: Host]]] = []
    /// The router holding each public address.
    var routerOfPublicAddress: [IPv4Address: Int] = [:]
    /// Every address an iptables rule indexes, on any router or appliance: a flow from one
    /// of them meets rules that flows from other clients do not.
    var indexedAddresses = AddressSet([])
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
        topology = try Topology(bytes: try read("topology.json"), file: "topology.json")
        // Every file is parsed and every host built on all cores; the first error in the
        // order of the topology (routers, then appliances) is raised.
        routers = try topology.vpcs.concurrentMap { vpc throws(ArtifactError) in
            var own = Set(vpc.publicIPs.map(\.address) + vpc.tiers.map(\.gateway))
            if let sourceNAT = vpc.sourceNATIP { own.insert(sourceNAT) }
            let ruleset = try IptablesParser.parse(
                bytes: try read(vpc.iptablesFile), file: vpc.iptablesFile)
            return Router(
                vpc: vpc, netfilter: NetfilterEngine(ruleset: ruleset), ownAddresses: own)
        }
        let placed = topology.vpcs.enumerated().flatMap { vpcIndex, vpc in
            vpc.tiers.enumerated().compactMap { tierIndex, tier in
                tier.appliance.map { (vpcIndex, tierIndex, $0) }
            }
        }
        appliances = try placed.concurrentMap { placement throws(ArtifactError) in
            let (vpcIndex, tierIndex, appliance) = placement
            return try SimulatedDeployment.load(
                appliance, vpcIndex: vpcIndex, tierIndex: tierIndex, read: read)
        }
        indexedAddresses = AddressSet(
            (routers.map(\.netfilter) + appliances.map(\.netfilter)).reduce(into: []) {
                $0.formUnion($1.indexedAddresses)
            })
        var proxyCount = 0
        for appliance in appliances {
            firstProxyNumber.append(proxyCount)
            proxyCount += appliance.proxies.count
        }
        firstProxyNumber.append(proxyCount)
        var nextAppliance = 0
        for (vpcIndex, vpc) in topology.vpcs.enumerated() {
            for address in routers[vpcIndex].ownAddresses
            where !vpc.tiers.contains(where: { $0.gateway == address }) {
                routerOfPublicAddress[address] = vpcIndex
            }
            var tierHosts: [[IPv4Address: Host]] = []
            for tier in vpc.tiers {
                var hostsHere: [IPv4Address: Host] = [:]
                for vm in tier.virtualMachines where vm.running {
                    hostsHere[vm.address] = .virtualMachine(vm)
                }
                if tier.appliance != nil {
                    let appliance = appliances[nextAppliance]
                    if appliance.running {
                        for address in appliance.addresses.all {
                            hostsHere[address] = .appliance(nextAppliance)
                        }
                    }
                    nextAppliance += 1
                }
                tierHosts.append(hostsHere)
            }
            hosts.append(tierHosts)
        }
    }

    /// Reads and parses the three files of `appliance`, in tier `tierIndex` of VPC `vpcIndex`.
    private static func load(
        _ appliance: Topology.Appliance, vpcIndex: Int, tierIndex: Int,
        read: (String) throws(ArtifactError) -> [UInt8]
    ) throws(ArtifactError) -> Appliance {
        let addresses = try ApplianceAddresses(
            bytes: try read(appliance.addressesFile), file: appliance.addressesFile)
        let haproxy = try HAProxyParser.parse(
            bytes: try read(appliance.haproxyFile), file: appliance.haproxyFile)
        let firewall = try IptablesParser.parse(
            bytes: try read(appliance.iptablesFile), file: appliance.iptablesFile)
        let held = Set(addresses.all)
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
        return Appliance(
            name: appliance.name, vpcIndex: vpcIndex, tierIndex: tierIndex,
            running: appliance.running, addresses: addresses,
            netfilter: NetfilterEngine(ruleset: firewall), haproxy: haproxy,
            startFailure: failure, listeners: listeners)
    }
}
