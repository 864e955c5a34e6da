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

    /// One action as a single JSON line (no newline).
    public static func actionLine(_ action: Action, sequence: Int) -> JSONOutput {
        var members: [(String, JSONOutput)] = [
            ("seq", .int(sequence)), ("action", .string(action.kind.rawValue)),
            ("vpcid", .string(action.vpcID)), ("networkid", .string(action.networkID)),
            ("appliance", .string(action.appliance)),
        ]
        if let value = action.publicIPID { members.append(("publicipid", .string(value))) }
        if let value = action.publicIP { members.append(("publicip", .string(value.description))) }
        if let value = action.secondaryIP {
            members.append(("secondaryip", .string(value.description)))
        }
        if let value = action.guestIP { members.append(("guestip", .string(value.description))) }
        if let value = action.linkLocalIP {
            members.append(("linklocalip", .string(value.description)))
        }
        if let value = action.gateway { members.append(("gateway", .string(value.description))) }
        if let value = action.netmask { members.append(("netmask", .string(value.description))) }
        if let value = action.macAddress { members.append(("macaddress", .string(value))) }
        if let value = action.ruleCount { members.append(("rules", .int(value))) }
        if let value = action.configDigest { members.append(("digest", .string(value))) }
        members.append(("reason", .string(action.reason)))
        return .object(members)
    }

    /// `actions.jsonl`: one action a line.
    public static func actions(_ actions: [Action]) -> [UInt8] {
        var out = ByteWriter(capacity: actions.count * 200)
        for (index, action) in actions.enumerated() {
            actionLine(action, sequence: index + 1).write(to: &out, pretty: false)
            out.newline()
        }
        return out.bytes
    }
}
