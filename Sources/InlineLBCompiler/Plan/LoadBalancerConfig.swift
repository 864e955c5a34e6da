import InlineLBCore

/// The load-balancer config sent to one appliance: every active rule of the tier,
/// translated so that its source IP is the mapped secondary guest IP.
public struct LoadBalancerConfig: Sendable {
    /// The appliance's name.
    public var appliance: String
    /// The appliance's primary guest IP (the stats listener binds there).
    public var guestIP: IPv4Address
    /// Global `maxconn`.
    public var maxConnections: Int
    /// The offering's keep-alive flag.
    public var keepAliveEnabled: Bool
    /// The translated rules, in corpus order.
    public var rules: [TranslatedRule]
}

/// An LB rule after translation to the appliance.
public struct TranslatedRule: Sendable {
    /// One backend server.
    public struct Destination: Sendable {
        public var vmID: String
        public var address: IPv4Address
        public var port: Int
    }

    public var ruleID: String
    /// The public IP the rule was written for.
    public var publicIP: IPv4Address
    /// The secondary guest IP HAProxy binds to.
    public var sourceIP: IPv4Address
    public var sourcePort: Int
    public var algorithm: LBAlgorithm
    public var lbProtocol: LBProtocol
    public var cidrs: [IPv4Network]
    public var destinations: [Destination]
    public var stickiness: StickinessPolicy?
    public var healthCheck: HealthCheckPolicy?
}
