import InlineLBCore

extension Traffic {
    /// Reads a traffic file:
    /// `{"format": "inlinelb-traffic/1", "seed": 1, "flows": [{"target": "203.0.113.10:80",
    /// "count": 12, "clients": 6 or ["198.51.100.7", ...], "clientcidr": "198.51.100.0/24",
    /// "concurrency": 1, "cookies": true}]}`.
    public init(bytes: [UInt8], file: String) throws(ArtifactError) {
        let root = try parseArtifactJSON(bytes, file: file)
        func fail(_ node: JSONNode, _ message: String) -> ArtifactError {
            ArtifactError(
                file: file, line: SourceLocation(offset: node.offset, in: bytes).line, message)
        }
        guard case .object(let members) = root.value else { throw fail(root, "expected an object") }
        var seed: UInt64 = 1
        var groups: [Group] = []
        var format: String?
        for member in members {
            switch (member.key, member.node.value) {
            case ("format", .string(let text)): format = text
            case ("seed", .number(_, let value?)) where value >= 0: seed = UInt64(value)
            case ("flows", .array(let elements)):
                for element in elements { groups.append(try Traffic.group(element, fail)) }
            default: throw fail(member.node, Traffic.problem(member, known: Traffic.documentFields))
            }
        }
        guard format == "inlinelb-traffic/1" else {
            throw fail(root, "format must be \"inlinelb-traffic/1\"")
        }
        self.init(seed: seed, groups: groups)
    }

    /// Each field a traffic document may have, with what its value must be.
    static let documentFields: KeyValuePairs = [
        "format": "\"inlinelb-traffic/1\"", "seed": "a non-negative integer",
        "flows": "an array of flow groups",
    ]
    /// Each field a flow group may have, with what its value must be.
    static let groupFields: KeyValuePairs = [
        "target": "\"address:port\"", "count": "an integer from 1 to 10000000",
        "clients": "an integer from 1 to 65536 or an array of IPv4 addresses",
        "clientcidr": "a CIDR", "concurrency": "a positive integer", "cookies": "true or false",
    ]

    /// What is wrong with a member no case accepted: an unknown name, or a value of the wrong
    /// kind or out of range.
    private static func problem(_ member: JSONMember, known: KeyValuePairs<String, String>)
        -> String
    {
        guard let expected = known.first(where: { $0.key == member.key })?.value else {
            let names = known.map(\.key).joined(separator: ", ")
            return "unknown field \"\(member.key)\"; the fields are \(names)"
        }
        let found = member.node.numberText ?? member.node.kind.description
        return "\"\(member.key)\" must be \(expected), found \(found)"
    }

    private static func group(_ node: JSONNode, _ fail: (JSONNode, String) -> ArtifactError)
        throws(ArtifactError) -> Group
    {
        guard case .object(let members) = node.value else {
            throw fail(node, "a flow group must be an object")
        }
        var target: (IPv4Address, Int)?
        var group = Group(target: IPv4Address(0), port: 1, count: 1)
        for member in members {
            switch (member.key, member.node.value) {
            case ("target", .string(let text)):
                let parts = text.split(separator: ":")
                guard parts.count == 2, let address = IPv4Address(parts[0]),
                    let port = Int(parts[1]), (1...65535).contains(port)
                else { throw fail(member.node, "target must be address:port, found \"\(text)\"") }
                target = (address, port)
            case ("count", .number(_, let value?)) where value > 0 && value <= 10_000_000:
                group.count = value
            case ("clients", .number(_, let value?)) where value > 0 && value <= 65_536:
                group.clientCount = value
            case ("clients", .array(let elements)):
                for element in elements {
                    guard case .string(let text) = element.value, let address = IPv4Address(text)
                    else {
                        throw fail(element, "clients must be IPv4 addresses")
                    }
                    group.clients.append(address)
                }
            case ("clientcidr", .string(let text)):
                guard let network = IPv4Network(text) else {
                    throw fail(member.node, "clientcidr \"\(text)\" is not a CIDR")
                }
                group.clientNetwork = network
            case ("concurrency", .number(_, let value?)) where value > 0: group.concurrency = value
            case ("cookies", .bool(let flag)): group.returnsCookies = flag
            default: throw fail(member.node, Traffic.problem(member, known: Traffic.groupFields))
            }
        }
        guard let target else { throw fail(node, "a flow group needs a target") }
        group.target = target.0
        group.port = target.1
        return group
    }
}

extension Traffic {
    /// The traffic as an `inlinelb-traffic/1` document that reads back to the same flows.
    public var document: [UInt8] {
        JSONOutput.object([
            ("format", .string("inlinelb-traffic/1")), ("seed", .int(Int(seed))),
            (
                "flows",
                .array(
                    groups.map { group in
                        var members: [(String, JSONOutput)] = [
                            ("target", .string("\(group.target):\(group.port)")),
                            ("count", .int(group.count)),
                        ]
                        if group.clients.isEmpty {
                            members.append(("clients", .int(group.clientCount)))
                            members.append(("clientcidr", .string(group.clientNetwork.description)))
                        } else {
                            members.append(
                                ("clients", .array(group.clients.map { .string($0.description) })))
                        }
                        members.append(("concurrency", .int(group.concurrency)))
                        members.append(("cookies", .bool(group.returnsCookies)))
                        return .object(members)
                    })
            ),
        ]).document
    }
}

extension FlowResult {
    /// The result as one JSON object: the flow, its outcome class and detail, the VM, the
    /// reply source and the trace.
    public var json: JSONOutput {
        let kind: String
        switch outcome {
        case .delivered: kind = "delivered"
        case .refused: kind = "refused"
        case .dropped: kind = "dropped"
        case .failed: kind = "failed"
        }
        return .object([
            ("id", .int(flow.id)), ("client", .string(flow.client.description)),
            ("clientport", .int(flow.clientPort)),
            ("target", .string(flow.target.description)), ("port", .int(flow.port)),
            ("batch", .int(flow.batch)),
            ("cookies", .bool(flow.returnsCookies)), ("outcome", .string(kind)),
            ("detail", .string(outcome.description)),
            ("vm", .optional(outcome.deliveredVM)), ("listener", .optional(listener?.description)),
            ("persisted", .bool(persisted)),
            ("replyfrom", .optional(replyFrom.map { "\($0.address):\($0.port)" })),
            ("trace", .array(hops.map { .string($0.description) })),
        ])
    }
}
