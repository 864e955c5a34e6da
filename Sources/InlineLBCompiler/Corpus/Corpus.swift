import InlineLBCore

/// A rule corpus in format `inlinelb-corpus/1`: the desired state of one or more VPCs in
/// CloudStack's API vocabulary. Produced by ``CorpusDecoder``; checked by ``CorpusValidator``.
public struct Corpus: Sendable {
    /// The corpus's name (its `name` field).
    public var name: String
    public var zone: Zone?
    public var physicalNetworks: [PhysicalNetwork] = []
    public var vpcOfferings: [VPCOffering] = []
    public var networkOfferings: [NetworkOffering] = []
    public var vpcs: [VPC] = []
    public var networks: [Tier] = []
    public var virtualMachines: [VirtualMachine] = []
    public var publicIPAddresses: [PublicIPAddress] = []
    public var loadBalancerRules: [LoadBalancerRule] = []
    public var portForwardingRules: [PortForwardingRule] = []
    public var applianceIntents: [ApplianceIntent] = []

    /// Creates an empty corpus.
    public init(name: String) { self.name = name }
}

/// The only provider this tool compiles.
public let inlineLBProviderName = "VpcInlineLbVm"

public struct Zone: Sendable {
    public var id: String
    public var name: String
}

public struct PhysicalNetwork: Sendable {
    public struct Provider: Sendable {
        public var id: String
        public var name: String
        /// `Enabled`, `Disabled` or `Shutdown`.
        public var state: String
    }
    public struct InlineLBElement: Sendable {
        public var id: String
        public var nspID: String
        public var enabled: Bool
    }
    public var id: String
    public var name: String
    public var providers: [Provider]
    public var elements: [InlineLBElement]
}

public struct VPCOffering: Sendable {
    public var id: String
    public var name: String
    public var lbProvider: String?
}

public struct NetworkOffering: Sendable {
    public var id: String
    public var name: String
    public var lbProvider: String?
    /// HAProxy's global `maxconn`; 4096 when absent.
    public var concurrentConnections: Int?
    public var keepAliveEnabled: Bool
}

public struct VPC: Sendable {
    public var id: String
    public var name: String
    public var cidr: IPv4Network
    public var vpcOfferingID: String
    public var sourceNATIP: IPv4Address?
}

/// A VPC tier (CloudStack guest network).
public struct Tier: Sendable {
    public var id: String
    public var name: String
    public var vpcID: String
    public var networkOfferingID: String
    public var gateway: IPv4Address
    public var cidr: IPv4Network
    public var acl: [ACLItem]
}

/// One network ACL item of a tier.
public struct ACLItem: Sendable {
    public enum TrafficType: String, Sendable, CaseIterable {
        case ingress = "Ingress"
        case egress = "Egress"
    }
    public enum Action: String, Sendable, CaseIterable {
        case allow = "Allow"
        case deny = "Deny"
    }
    public enum ACLProtocol: String, Sendable, CaseIterable { case tcp, udp, icmp, all }
    public var number: Int
    public var trafficType: TrafficType
    public var action: Action
    public var ipProtocol: ACLProtocol
    public var startPort: Int?
    public var endPort: Int?
    public var cidrs: [IPv4Network]
}

public struct VirtualMachine: Sendable {
    public struct NIC: Sendable {
        public var networkID: String
        public var ipAddress: IPv4Address
    }
    public var id: String
    public var name: String
    public var nics: [NIC]
    /// CloudStack VM state: `Running`, `Stopped`, `Starting`, `Stopping`, `Destroyed`, ...
    public var state: String
}

public struct PublicIPAddress: Sendable {
    public var id: String
    public var ipAddress: IPv4Address
    public var vpcID: String
    /// Static NAT target VM, when set.
    public var virtualMachineID: String?
}

public enum LBProtocol: String, Sendable, CaseIterable {
    case tcp
    case tcpProxy = "tcp-proxy"
    case udp, ssl
}

public enum LBAlgorithm: String, Sendable {
    case roundrobin, leastconn, source
}

public enum RuleState: String, Sendable {
    /// Live: rendered when it has destinations.
    case live
    /// Being deleted: kept in the input, never rendered.
    case revoke = "Revoke"
}

public struct StickinessPolicy: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        case lbCookie = "LbCookie"
        case appCookie = "AppCookie"
        case sourceBased = "SourceBased"
    }
    public var method: Method
    public var name: String
    /// Parameters by name; flags are `"true"`.
    public var params: [(name: String, value: String)]

    /// The value of parameter `name` (case-insensitive), if present.
    public func param(_ name: String) -> String? {
        params.first { $0.name.lowercased() == name }?.value
    }
}

public struct HealthCheckPolicy: Sendable {
    public var pingPath: String
    public var responseTimeout: Int
    public var intervalTime: Int
    public var healthyThreshold: Int
    public var unhealthyThreshold: Int
}

public struct LoadBalancerRule: Sendable {
    public var id: String
    public var name: String
    public var publicIPID: String
    public var networkID: String
    public var publicPort: Int
    public var privatePort: Int
    public var lbProtocol: LBProtocol
    public var algorithm: LBAlgorithm
    public var cidrs: [IPv4Network]
    public var virtualMachineIDs: [String]
    public var stickiness: StickinessPolicy?
    public var healthCheck: HealthCheckPolicy?
    public var state: RuleState

    /// Live and with at least one destination VM (CloudStack state `Active`).
    public var isActive: Bool { state == .live && !virtualMachineIDs.isEmpty }
}

public struct PortForwardingRule: Sendable {
    public var id: String
    public var ipAddressID: String
    public var publicPort: Int
    public var privatePort: Int
    public var virtualMachineID: String
}

/// The desired state of a tier's appliance.
public struct ApplianceIntent: Sendable {
    public enum State: String, Sendable, CaseIterable {
        case running = "Running"
        case stopped = "Stopped"
    }
    public var networkID: String
    public var state: State
}
