import InlineLBCore

/// One orchestration step, in the order CloudStack's VPC Inline LB element performs them.
public struct Action: Sendable, Equatable {
    /// What the step does.
    public enum Kind: String, Sendable {
        /// Deploy and start a new appliance (guest and link-local NICs).
        case deployAppliance
        case startAppliance
        case stopAppliance
        /// Record a guest NIC secondary IP for a public IP.
        case addSecondaryIp
        /// Static NAT public IP -> secondary IP on the VPC router (apply IP, then static NAT).
        case enableStaticNat
        /// Tell the running appliance to configure the secondary address on its guest NIC.
        case addApplianceAddress
        /// Send the tier's translated rules; the appliance reloads HAProxy.
        case applyLbConfig
        /// Revoke the static NAT (static NAT, then IP).
        case disableStaticNat
        /// Tell the running appliance to remove the secondary address.
        case removeApplianceAddress
        /// Delete the secondary IP and its mapping row, clearing the public IP's `vmIp`.
        case removeSecondaryIp
        case destroyAppliance
    }

    public var kind: Kind
    public var vpcID: String
    public var networkID: String
    public var appliance: String
    public var publicIPID: String?
    public var publicIP: IPv4Address?
    public var secondaryIP: IPv4Address?
    public var guestIP: IPv4Address?
    public var linkLocalIP: IPv4Address?
    /// For `addApplianceAddress`: the tier's gateway, netmask and the guest NIC's MAC.
    public var gateway: IPv4Address?
    public var netmask: IPv4Address?
    public var macAddress: String?
    /// For `applyLbConfig`: how many rules the config holds and its XXH3-128 digest.
    public var ruleCount: Int?
    public var configDigest: String?
    /// Why the step happens (`first live rule`, `restart with cleanup`, ...).
    public var reason: String
}
