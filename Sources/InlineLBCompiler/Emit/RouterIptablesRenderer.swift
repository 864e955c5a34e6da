import InlineLBCore

/// Renders a VPC router's `router.iptables` (iptables-save format): static NAT for every
/// appliance mapping and every VM static NAT, source NAT, and each tier's network ACL
/// chains (REFERENCE.md §4).
///
/// Interfaces follow the VPC router: eth0 control (link-local), eth1 public, eth2... one
/// per tier in corpus order. Traffic into a tier passes its `ACL_INBOUND_<dev>` chain,
/// which ends in DROP; CloudStack's own static-NAT FORWARD accept names the control NIC
/// and never matches, so the tier ACL decides and no such line is emitted.
public enum RouterIptablesRenderer {
    /// One static NAT: public address to inside address.
    public struct StaticNAT: Sendable {
        public var publicIP: IPv4Address
        public var insideIP: IPv4Address
    }

    /// The public interface.
    public static let publicInterface = "eth1"
    /// The control interface.
    public static let controlInterface = "eth0"

    /// The interface of the tier at `position` among its VPC's tiers.
    public static func tierInterface(_ position: Int) -> String { "eth\(position + 2)" }

    /// The complete rules file.
    public static func render(vpc: VPC, tiers: [Tier], staticNATs: [StaticNAT]) -> [UInt8] {
        var out = ByteWriter(capacity: 1024 + staticNATs.count * 200)
        out.line(
            "# VPC router of \(vpc.id) (\(vpc.name)): static NAT and network ACLs (iptables-save format)"
        )
        out.line("*nat")
        out.line(":PREROUTING ACCEPT [0:0]")
        out.line(":INPUT ACCEPT [0:0]")
        out.line(":OUTPUT ACCEPT [0:0]")
        out.line(":POSTROUTING ACCEPT [0:0]")
        for nat in staticNATs {
            out.append("-A PREROUTING -d ")
            out.append(nat.publicIP)
            out.append("/32 -j DNAT --to-destination ")
            out.append(nat.insideIP)
            out.newline()
        }
        for nat in staticNATs {
            out.append("-A OUTPUT -d ")
            out.append(nat.publicIP)
            out.append("/32 -j DNAT --to-destination ")
            out.append(nat.insideIP)
            out.newline()
        }
        for nat in staticNATs {
            out.append("-A POSTROUTING -s ")
            out.append(nat.insideIP)
            out.append("/32 -o \(publicInterface) -j SNAT --to-source ")
            out.append(nat.publicIP)
            out.newline()
        }
        if let sourceNAT = vpc.sourceNATIP {
            out.append("-A POSTROUTING -s \(vpc.cidr) -o \(publicInterface) -j SNAT --to-source ")
            out.append(sourceNAT)
            out.newline()
        }
        out.line("COMMIT")
        out.line("*filter")
        out.line(":INPUT DROP [0:0]")
        out.line(":FORWARD DROP [0:0]")
        out.line(":OUTPUT ACCEPT [0:0]")
        for position in tiers.indices {
            out.line(":ACL_INBOUND_\(tierInterface(position)) - [0:0]")
            out.line(":ACL_OUTBOUND_\(tierInterface(position)) - [0:0]")
        }
        out.line("-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT")
        out.line("-A INPUT -i lo -j ACCEPT")
        out.line(
            "-A INPUT -i \(controlInterface) -p tcp -m tcp --dport \(ApplianceFirewallRenderer.controlSSHPort) -m state --state NEW -j ACCEPT"
        )
        out.line("-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT")
        for (position, tier) in tiers.enumerated() {
            let device = tierInterface(position)
            out.line("-A FORWARD -d \(tier.cidr) -o \(device) -j ACL_INBOUND_\(device)")
            out.line("-A FORWARD -s \(tier.cidr) -i \(device) -j ACL_OUTBOUND_\(device)")
        }
        for (position, tier) in tiers.enumerated() {
            let device = tierInterface(position)
            let items = tier.acl.enumerated().sorted {
                ($0.element.number, $0.offset) < ($1.element.number, $1.offset)
            }
            for direction in [ACLItem.TrafficType.ingress, .egress] {
                let chain =
                    direction == .ingress ? "ACL_INBOUND_\(device)" : "ACL_OUTBOUND_\(device)"
                for (_, item) in items where item.trafficType == direction {
                    for cidr in item.cidrs {
                        appendACLRule(item, chain: chain, cidr: cidr, into: &out)
                    }
                }
                out.line("-A \(chain) -j DROP")
            }
        }
        out.line("COMMIT")
        return out.bytes
    }

    private static func appendACLRule(
        _ item: ACLItem, chain: String, cidr: IPv4Network, into out: inout ByteWriter
    ) {
        out.append("-A \(chain) ")
        out.append(item.trafficType == .ingress ? "-s " : "-d ")
        out.append(cidr.description)
        switch item.ipProtocol {
        case .tcp, .udp:
            let name = item.ipProtocol.rawValue
            out.append(" -p \(name) -m \(name)")
            if let start = item.startPort {
                out.append(" --dport ")
                out.append(start)
                out.append(byte: UInt8(ascii: ":"))
                out.append(item.endPort ?? start)
            }
        case .icmp: out.append(" -p icmp")
        case .all: break
        }
        out.line(item.action == .allow ? " -j ACCEPT" : " -j DROP")
    }
}
