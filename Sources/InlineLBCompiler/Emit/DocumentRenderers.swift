import InlineLBCore

/// Renders the JSON artifacts of a compilation: `addresses.json`, `topology.json`,
/// `actions.jsonl`.
public enum DocumentRenderers {
    /// Format tag of `topology.json`.
    public static let topologyFormat = "inlinelb-topology/1"

    /// An appliance's NIC addresses: guest NIC primary and secondary IPs, link-local NIC.
    public static func addresses(_ appliance: ApplianceRecord, tier: Tier) -> [UInt8] {
        JSONOutput.object([
            ("appliance", .string(appliance.name)),
            ("state", .string(appliance.state.rawValue)),
            (
                "nic",
                .array([
                    .object([
                        ("deviceid", .int(0)), ("device", .string("eth0")),
                        ("traffictype", .string("Guest")),
                        ("networkid", .string(tier.id)),
                        ("macaddress", .string(appliance.guestMACAddress)),
                        ("ipaddress", .string(appliance.guestIP.description)),
                        ("netmask", .string(tier.cidr.netmask.description)),
                        ("gateway", .string(tier.gateway.description)),
                        (
                            "secondaryip",
                            .array(
                                appliance.mappings.map { mapping in
                                    .object([
                                        ("ipaddress", .string(mapping.secondaryIP.description)),
                                        ("publicip", .string(mapping.publicIP.description)),
                                        ("publicipid", .string(mapping.publicIPID)),
                                    ])
                                })
                        ),
                    ]),
                    .object([
                        ("deviceid", .int(1)), ("device", .string("eth1")),
                        ("traffictype", .string("Control")),
                        ("ipaddress", .string(appliance.linkLocalIP.description)),
                        ("netmask", .string("255.255.0.0")),
                    ]),
                ])
            ),
        ]).document
    }

    /// Appends one action as a single-line JSON object (no newline), written straight into
    /// the buffer: actions files of large corpora hold hundreds of thousands of them.
    public static func writeActionLine(
        _ action: Action, sequence: Int, to out: inout ByteWriter
    ) {
        var separator = UInt8(ascii: "{")
        func key(_ name: String) {
            out.append(byte: separator)
            separator = UInt8(ascii: ",")
            out.appendJSONString(name)
            out.append(byte: UInt8(ascii: ":"))
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            out.appendJSONString(value)
        }
        func address(_ name: String, _ value: IPv4Address?) {
            guard let value else { return }
            key(name)
            out.append(byte: UInt8(ascii: "\""))
            out.append(value)
            out.append(byte: UInt8(ascii: "\""))
        }
        key("seq")
        out.append(sequence)
        string("action", action.kind.rawValue)
        string("vpcid", action.vpcID)
        string("networkid", action.networkID)
        string("appliance", action.appliance)
        string("publicipid", action.publicIPID)
        address("publicip", action.publicIP)
        address("secondaryip", action.secondaryIP)
        address("guestip", action.guestIP)
        address("linklocalip", action.linkLocalIP)
        address("gateway", action.gateway)
        address("netmask", action.netmask)
        string("macaddress", action.macAddress)
        if let rules = action.ruleCount {
            key("rules")
            out.append(rules)
        }
        string("digest", action.configDigest)
        string("reason", action.reason)
        out.append(byte: UInt8(ascii: "}"))
    }

    /// `actions.jsonl`: one action a line, in parts that follow one another (long lists
    /// are rendered on all cores; joining the 76 MB of a million-rule corpus took 0.17 s on
    /// one core, most of it faulting in new memory).
    public static func actions(_ actions: [Action]) -> [[UInt8]] {
        let parts = (0..<actions.count).split(into: actions.count >= 4096 ? 64 : 1)
            .concurrentMap { range in
                var out = ByteWriter(capacity: range.count * 200)
                for index in range {
                    writeActionLine(actions[index], sequence: index + 1, to: &out)
                    out.newline()
                }
                return out.bytes
            }
        return parts.filter { !$0.isEmpty }
    }
}
