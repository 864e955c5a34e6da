import InlineLBCore

extension DeploymentState {
    /// `state.json`: the mapping table, the appliances and, for reading only, pool occupancy.
    public func document(pools: [PoolUsage]) -> [UInt8] {
        StateDocument(self, pools: pools).bytes
    }

    /// Reads a `state.json`; any problem is a diagnostic naming the file and JSON path.
    public init(file: String, bytes: [UInt8]) throws(DiagnosticList) {
        let source = try CorpusSource(file: file, bytes: bytes)
        var reader = StateReader(source: source)
        do {
            self = try reader.read()
        } catch {
            throw DiagnosticList([error])
        }
    }
}

/// Reads `state.json` strictly; state files are machine-written, so the first problem ends it.
private struct StateReader {
    let source: CorpusSource

    mutating func read() throws(Diagnostic) -> DeploymentState {
        let top = try object(source.root, .root)
        try known(
            top, .root,
            ["format", "nextappliancenumber", "nextmappingnumber", "appliances", "pools"])
        let format = try string(top, .root, "format")
        guard format == DeploymentState.format else {
            throw fail(
                JSONPath.root.appending("format"),
                "unsupported state format \"\(format)\"; expected \"\(DeploymentState.format)\"")
        }
        var state = DeploymentState()
        state.nextApplianceNumber = try integer(top, .root, "nextappliancenumber")
        state.nextMappingNumber = try integer(top, .root, "nextmappingnumber")
        let appliancesPath = JSONPath.root.appending("appliances")
        for (index, node) in try array(top, .root, "appliances").enumerated() {
            let path = appliancesPath.appending(index)
            let fields = try object(node, path)
            try known(
                fields, path,
                [
                    "number", "name", "vpcid", "networkid", "guestip", "linklocalip", "state",
                    "sentconfigdigest", "mappings",
                ])
            let stateText = try string(fields, path, "state")
            guard let applianceState = ApplianceRecord.State(rawValue: stateText) else {
                throw fail(path.appending("state"), "unknown appliance state \"\(stateText)\"")
            }
            var digest: String?
            if let node = fields.first(where: { $0.key == "sentconfigdigest" })?.node,
                case .string(let text) = node.value
            {
                digest = text
            }
            var record = ApplianceRecord(
                number: try integer(fields, path, "number"),
                vpcID: try string(fields, path, "vpcid"),
                networkID: try string(fields, path, "networkid"),
                guestIP: try address(fields, path, "guestip"),
                linkLocalIP: try address(fields, path, "linklocalip"), state: applianceState,
                mappings: [],
                sentConfigDigest: digest)
            if record.number < 1 || record.number >= state.nextApplianceNumber {
                throw fail(
                    path.appending("number"),
                    "appliance number \(record.number) is not below nextappliancenumber")
            }
            for (mappingIndex, mappingNode) in try array(fields, path, "mappings").enumerated() {
                let mappingPath = path.appending("mappings").appending(mappingIndex)
                let mapping = try object(mappingNode, mappingPath)
                try known(mapping, mappingPath, ["id", "publicipid", "publicip", "secondaryip"])
                record.mappings.append(
                    LoadBalancerMapping(
                        number: try integer(mapping, mappingPath, "id"),
                        publicIPID: try string(mapping, mappingPath, "publicipid"),
                        publicIP: try address(mapping, mappingPath, "publicip"),
                        secondaryIP: try address(mapping, mappingPath, "secondaryip")))
            }
            if state.appliances.contains(where: { $0.networkID == record.networkID }) {
                throw fail(
                    path.appending("networkid"),
                    "Only one VPC Inline LB allowed per network: \"\(record.networkID)\" has two")
            }
            state.appliances.append(record)
        }
        return state
    }

    func fail(_ path: JSONPath, _ message: String) -> Diagnostic {
        source.diagnostic(at: path, message)
    }

    func object(_ node: JSONNode, _ path: JSONPath) throws(Diagnostic) -> [JSONMember] {
        guard case .object(let members) = node.value else {
            throw fail(path, "expected an object, found \(node.kind.description)")
        }
        return members
    }

    func known(_ members: [JSONMember], _ path: JSONPath, _ names: [String]) throws(Diagnostic) {
        if let unknown = members.first(where: { !names.contains($0.key) }) {
            throw fail(path.appending(unknown.key), "unknown field \"\(unknown.key)\"")
        }
    }

    func member(_ members: [JSONMember], _ path: JSONPath, _ key: String) throws(Diagnostic)
        -> JSONNode
    {
        guard let node = members.first(where: { $0.key == key })?.node else {
            throw fail(path, "missing required field \"\(key)\"")
        }
        return node
    }

    func string(_ members: [JSONMember], _ path: JSONPath, _ key: String) throws(Diagnostic)
        -> String
    {
        guard case .string(let text) = try member(members, path, key).value else {
            throw fail(path.appending(key), "expected a string")
        }
        return text
    }

    func integer(_ members: [JSONMember], _ path: JSONPath, _ key: String) throws(Diagnostic) -> Int
    {
        guard case .number(_, let value?) = try member(members, path, key).value else {
            throw fail(path.appending(key), "expected an integer")
        }
        return value
    }

    func address(_ members: [JSONMember], _ path: JSONPath, _ key: String) throws(Diagnostic)
        -> IPv4Address
    {
        let text = try string(members, path, key)
        guard let address = IPv4Address(text) else {
            throw fail(path.appending(key), "\"\(text)\" is not an IPv4 address")
        }
        return address
    }

    func array(_ members: [JSONMember], _ path: JSONPath, _ key: String) throws(Diagnostic)
        -> [JSONNode]
    {
        guard case .array(let elements) = try member(members, path, key).value else {
            throw fail(path.appending(key), "expected an array")
        }
        return elements
    }
}

/// `state.json` with each appliance rendered as a chunk of its own, so that an incremental
/// apply renders only the appliances it re-planned and copies the others.
struct StateDocument {
    /// The document, in parts that follow one another: the appliances' chunks as they were
    /// rendered or read, not copied.
    let parts: [ArraySlice<UInt8>]
    /// Each appliance's chunk in the document, in state order.
    let appliances: [Range<Int>]

    /// The document in one array.
    var bytes: [UInt8] { Array(parts.joined()) }

    /// The document of `state`.
    init(_ state: DeploymentState, pools: [PoolUsage]) {
        self.init(
            nextApplianceNumber: state.nextApplianceNumber,
            nextMappingNumber: state.nextMappingNumber,
            appliances: state.appliances.concurrentMap { StateDocument.chunk(of: $0)[...] },
            pools: pools)
    }

    /// Lays appliance chunks out, in order, the way `JSONOutput` writes the whole document.
    init(
        nextApplianceNumber: Int, nextMappingNumber: Int, appliances: [ArraySlice<UInt8>],
        pools: [PoolUsage]
    ) {
        let head = JSONOutput.documentHead(
            [
                ("format", .string(DeploymentState.format)),
                ("nextappliancenumber", .int(nextApplianceNumber)),
                ("nextmappingnumber", .int(nextMappingNumber)),
            ], then: "appliances")
        var tail = ByteWriter()
        tail.append(",\n  \"pools\": ")
        JSONOutput.array(
            pools.map { pool in
                .object([
                    ("name", .string(pool.name)),
                    ("first", .string(pool.first.description)),
                    ("last", .string(pool.last.description)),
                    ("capacity", .int(pool.capacity)),
                    ("used", .int(pool.capacity - pool.free)), ("free", .int(pool.free)),
                ])
            }
        ).write(to: &tail, pretty: true, indent: 2)
        tail.append("\n}\n")
        (parts, self.appliances) = JSONOutput.parts(
            head, arrayOfRendered: appliances, indent: 2, tail.bytes)
    }

    /// The chunk of one appliance: its object as `JSONOutput` writes it inside the
    /// document's `appliances` array.
    static func chunk(of appliance: ApplianceRecord) -> [UInt8] {
        let object = JSONOutput.object([
            ("number", .int(appliance.number)), ("name", .string(appliance.name)),
            ("vpcid", .string(appliance.vpcID)),
            ("networkid", .string(appliance.networkID)),
            ("guestip", .string(appliance.guestIP.description)),
            ("linklocalip", .string(appliance.linkLocalIP.description)),
            ("state", .string(appliance.state.rawValue)),
            ("sentconfigdigest", .optional(appliance.sentConfigDigest)),
            (
                "mappings",
                .array(
                    appliance.mappings.map { mapping in
                        .object([
                            ("id", .int(mapping.number)),
                            ("publicipid", .string(mapping.publicIPID)),
                            ("publicip", .string(mapping.publicIP.description)),
                            ("secondaryip", .string(mapping.secondaryIP.description)),
                        ])
                    })
            ),
        ])
        var out = ByteWriter()
        object.write(to: &out, pretty: true, indent: 4)
        return out.bytes
    }
}
