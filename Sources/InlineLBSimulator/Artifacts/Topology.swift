import InlineLBCore

/// `topology.json`: what exists (routers, tiers, appliances, VMs) and where each
/// appliance's files are. Addresses of appliances come from their `addresses.json`.
public struct Topology: Sendable {
    public struct VirtualMachine: Sendable {
        public var id: String
        public var name: String
        public var address: IPv4Address
        public var running: Bool
    }

    public struct Appliance: Sendable {
        public var name: String
        public var running: Bool
        public var haproxyFile: String
        public var iptablesFile: String
        public var addressesFile: String
    }

    public struct Tier: Sendable {
        public var id: String
        public var interface: String
        public var cidr: IPv4Network
        public var gateway: IPv4Address
        public var appliance: Appliance?
        public var virtualMachines: [VirtualMachine]
    }

    public struct PublicIP: Sendable {
        public var id: String
        public var address: IPv4Address
    }

    public struct VPC: Sendable {
        public var id: String
        public var sourceNATIP: IPv4Address?
        public var iptablesFile: String
        public var publicInterface: String
        public var publicIPs: [PublicIP]
        public var tiers: [Tier]
    }

    public var vpcs: [VPC]

    /// Reads `topology.json`.
    public init(bytes: [UInt8], file: String) throws(ArtifactError) {
        let root = try parseArtifactJSON(bytes, file: file)
        let top = try JSONFields(root, path: .root, file: file)
        guard try top.string("format") == "inlinelb-topology/1" else {
            throw ArtifactError(file: file, line: 0, "unsupported topology format")
        }
        var vpcs: [VPC] = []
        for vpc in try top.objects("vpcs") {
            guard let router = try vpc.optionalObject("router") else {
                throw ArtifactError(file: file, line: 0, "\(vpc.path.appending("router")): missing")
            }
            var tiers: [Tier] = []
            for tier in try vpc.objects("tiers") {
                var appliance: Appliance?
                if let object = try tier.optionalObject("appliance") {
                    appliance = Appliance(
                        name: try object.string("name"),
                        running: try object.string("state") == "Running",
                        haproxyFile: try object.string("haproxy"),
                        iptablesFile: try object.string("iptables"),
                        addressesFile: try object.string("addresses"))
                }
                var machines: [VirtualMachine] = []
                for vm in try tier.objects("virtualmachines") {
                    machines.append(
                        VirtualMachine(
                            id: try vm.string("id"), name: try vm.string("name"),
                            address: try vm.address("ipaddress"),
                            running: try vm.string("state") == "Running"))
                }
                tiers.append(
                    Tier(
                        id: try tier.string("id"), interface: try tier.string("interface"),
                        cidr: try tier.network("cidr"),
                        gateway: try tier.address("gateway"), appliance: appliance,
                        virtualMachines: machines))
            }
            var publicIPs: [PublicIP] = []
            for ip in try router.objects("publicips") {
                publicIPs.append(
                    PublicIP(id: try ip.string("id"), address: try ip.address("ipaddress")))
            }
            vpcs.append(
                VPC(
                    id: try vpc.string("id"),
                    sourceNATIP: vpc.optionalString("sourcenatip").flatMap { IPv4Address($0) },
                    iptablesFile: try router.string("iptables"),
                    publicInterface: try router.string("publicinterface"),
                    publicIPs: publicIPs, tiers: tiers))
        }
        self.vpcs = vpcs
    }
}

/// An appliance's `addresses.json`: the guest NIC's primary and secondary addresses.
struct ApplianceAddresses: Sendable {
    var guestIP: IPv4Address
    var secondaryIPs: [IPv4Address]

    /// Every address the appliance holds: its guest IP, then its secondary IPs.
    var all: [IPv4Address] { [guestIP] + secondaryIPs }

    init(bytes: [UInt8], file: String) throws(ArtifactError) {
        let root = try parseArtifactJSON(bytes, file: file)
        let top = try JSONFields(root, path: .root, file: file)
        guard
            let guest = try top.objects("nic").first(where: {
                (try? $0.string("traffictype")) == "Guest"
            })
        else {
            throw ArtifactError(file: file, line: 0, "no Guest NIC")
        }
        guestIP = try guest.address("ipaddress")
        secondaryIPs = []
        for secondary in try guest.objects("secondaryip") {
            secondaryIPs.append(try secondary.address("ipaddress"))
        }
    }
}
