import InlineLBCore

/// Renders an appliance's firewall (`iptables.rules`, iptables-save format): INPUT drops
/// by default and admits each live rule's listener, the stats listener, loopback,
/// established traffic and SSH on the control NIC (REFERENCE.md §4).
public enum ApplianceFirewallRenderer {
    /// The control NIC's SSH port.
    public static let controlSSHPort = 3922

    /// The complete rules file.
    public static func render(_ config: LoadBalancerConfig) -> [UInt8] {
        var out = ByteWriter(capacity: 512 + config.rules.count * 96)
        out.line("# appliance \(config.appliance): filter rules (iptables-save format)")
        out.line("*filter")
        out.line(":INPUT DROP [0:0]")
        out.line(":FORWARD DROP [0:0]")
        out.line(":OUTPUT ACCEPT [0:0]")
        out.line("-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT")
        out.line("-A INPUT -i lo -j ACCEPT")
        out.line(
            "-A INPUT -i eth1 -p tcp -m tcp --dport \(controlSSHPort) -m state --state NEW -j ACCEPT"
        )
        appendAccept(config.guestIP, HAProxyDefaults.statsPort, into: &out)
        for rule in config.rules {
            appendAccept(rule.sourceIP, rule.sourcePort, into: &out)
        }
        out.line("COMMIT")
        return out.bytes
    }

    private static func appendAccept(
        _ address: IPv4Address, _ port: Int, into out: inout ByteWriter
    ) {
        out.append("-A INPUT -d ")
        out.append(address)
        out.append("/32 -p tcp -m tcp --dport ")
        out.append(port)
        out.line(" -m state --state NEW -j ACCEPT")
    }
}
