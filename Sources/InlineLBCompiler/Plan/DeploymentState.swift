import InlineLBCore

/// What has been deployed: the appliances with their mapping tables. Fed back into the
/// planner on the next apply; stored as `state.json`.
public struct DeploymentState: Sendable, Equatable {
    /// The format tag of `state.json`.
    public static let format = "inlinelb-state/1"

    /// The next appliance VM number (appliances are named `b-<number>-VM`).
    public var nextApplianceNumber = 1
    /// The next mapping row id.
    public var nextMappingNumber = 1
    /// Appliances in deployment order.
    public var appliances: [ApplianceRecord] = []

    /// The empty state: nothing deployed.
    public static let empty = DeploymentState()

    /// Creates the empty state.
    public init() {}
}

/// One VPC Inline LB appliance: a system VM with a guest NIC (primary and secondary IPs)
/// and a link-local control NIC.
public struct ApplianceRecord: Sendable, Equatable {
    /// Appliance states the planner drives.
    public enum State: String, Sendable {
        case running = "Running"
        case stopped = "Stopped"
    }

    /// The VM number; the name is `b-<number>-VM`.
    public var number: Int
    public var vpcID: String
    public var networkID: String
    /// NIC 0 (eth0) primary guest address.
    public var guestIP: IPv4Address
    /// NIC 1 (eth1) link-local control address.
    public var linkLocalIP: IPv4Address
    public var state: State
    /// Rows of `vpc_inline_load_balancer_map`, in insertion order.
    public var mappings: [LoadBalancerMapping]
    /// XXH3-128 of the canonical encoding of the last load-balancer config sent to the
    /// appliance; nil before the first send.
    public var sentConfigDigest: String?

    /// `b-<number>-VM`.
    public var name: String { "b-\(number)-VM" }

    /// The guest NIC's MAC address, derived from the VM number.
    public var guestMACAddress: String {
        // Six two-digit hex octets joined by colons, written in place: every new mapping's
        // action carries it.
        let octets = 0x0200_0000_0000 | UInt64(truncatingIfNeeded: number) & 0xFFFF_FFFF
        return String(unsafeUninitializedCapacity: 17) { text in
            for index in 0..<6 {
                let octet = UInt8(truncatingIfNeeded: octets >> UInt64(40 - 8 * index))
                text[3 * index] = Digest.hexDigit(octet >> 4)
                text[3 * index + 1] = Digest.hexDigit(octet)
                if index < 5 { text[3 * index + 2] = UInt8(ascii: ":") }
            }
            return 17
        }
    }

    /// The listed `publicip`: mapped public IPs joined with ", " in insertion order.
    public var publicIPList: String {
        mappings.map(\.publicIP.description).joined(separator: ", ")
    }
}

/// One row of the mapping table: a public IP statically NATed to a secondary guest IP of
/// the appliance.
public struct LoadBalancerMapping: Sendable, Equatable {
    /// The row id.
    public var number: Int
    public var publicIPID: String
    public var publicIP: IPv4Address
    /// The guest NIC secondary IP (the public IP's `vmIp`).
    public var secondaryIP: IPv4Address
}
