import InlineLBCore

/// Turns a parsed corpus document into a typed ``Corpus``, collecting every type error,
/// missing field and unknown field (with the closest known name suggested).
public struct CorpusDecoder: Sendable {
    /// The format tag this decoder reads.
    public static let format = "inlinelb-corpus/1"

    private let source: CorpusSource
    private var diagnostics: [Diagnostic] = []

    private init(source: CorpusSource) { self.source = source }

    /// Decodes the corpus in `source`; throws all problems found.
    public static func decode(_ source: CorpusSource) throws(DiagnosticList) -> Corpus {
        let (corpus, diagnostics) = decodeAll(source)
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        return corpus
    }

    /// The corpus decoded as far as it goes (entities that do not decode are left out), and
    /// every problem found.
    static func decodeAll(_ source: CorpusSource) -> (corpus: Corpus, diagnostics: [Diagnostic]) {
        var decoder = CorpusDecoder(source: source)
        let corpus = source.root.document.withTape { decoder.decodeCorpus($0.root) }
        return (corpus, decoder.diagnostics)
    }

    // MARK: - Sections

    private mutating func decodeCorpus(_ root: JSONTapeNode) -> Corpus {
        var corpus = Corpus(name: "")
        guard let top = object(root, at: .root, keys: Keys.top) else { return corpus }
        let format = top.string("format", self: &self)
        if let format, format != CorpusDecoder.format {
            report(
                top.path.appending("format"),
                "unsupported format \"\(format)\"; expected \"\(CorpusDecoder.format)\"")
        }
        corpus.name = top.string("name", self: &self) ?? ""
        if let node = top.member("zone") {
            if let zone = object(node, at: top.path.appending("zone"), keys: Keys.zone) {
                corpus.zone = Zone(
                    id: zone.string("id", self: &self) ?? "",
                    name: zone.string("name", required: false, self: &self) ?? "")
                zone.finish(self: &self)
            }
        }
        corpus.physicalNetworks = list(top, "physicalnetworks", keys: Keys.physicalNetwork) {
            decoder, entry in
            decoder.decodePhysicalNetwork(entry)
        }
        corpus.vpcOfferings = list(top, "vpcofferings", keys: Keys.vpcOffering) {
            decoder, entry in
            let offering = VPCOffering(
                id: entry.string("id", self: &decoder) ?? "",
                name: entry.string("name", required: false, self: &decoder) ?? "",
                lbProvider: entry.string("lbprovider", required: false, self: &decoder))
            entry.finish(self: &decoder)
            return offering
        }
        corpus.networkOfferings = list(top, "networkofferings", keys: Keys.networkOffering) {
            decoder, entry in
            let offering = NetworkOffering(
                id: entry.string("id", self: &decoder) ?? "",
                name: entry.string("name", required: false, self: &decoder) ?? "",
                lbProvider: entry.string("lbprovider", required: false, self: &decoder),
                concurrentConnections: entry.integer(
                    "concurrentconnections", required: false, self: &decoder),
                keepAliveEnabled: entry.bool("keepaliveenabled", self: &decoder) ?? false)
            entry.finish(self: &decoder)
            return offering
        }
        corpus.vpcs = list(top, "vpcs", keys: Keys.vpc) { decoder, entry in
            decoder.decodeVPC(entry)
        }
        corpus.networks = list(top, "networks", keys: Keys.tier) { decoder, entry in
            decoder.decodeTier(entry)
        }
        corpus.virtualMachines = list(top, "virtualmachines", keys: Keys.virtualMachine) {
            decoder, entry in
            decoder.decodeVirtualMachine(entry)
        }
        corpus.publicIPAddresses = list(top, "publicipaddresses", keys: Keys.publicIP) {
            decoder, entry in
            let id = entry.string("id", self: &decoder)
            let address = entry.address("ipaddress", self: &decoder)
            let vpcID = entry.string("vpcid", self: &decoder)
            let vmID = entry.string("virtualmachineid", required: false, self: &decoder)
            entry.finish(self: &decoder)
            guard let id, let address, let vpcID else { return nil }
            return PublicIPAddress(id: id, ipAddress: address, vpcID: vpcID, virtualMachineID: vmID)
        }
        corpus.loadBalancerRules = list(top, "loadbalancerrules", keys: Keys.rule) {
            decoder, entry in
            decoder.decodeRule(entry)
        }
        corpus.portForwardingRules = list(top, "portforwardingrules", keys: Keys.portForwarding) {
            decoder, entry in
            let id = entry.string("id", self: &decoder)
            let ipID = entry.string("ipaddressid", self: &decoder)
            let publicPort = entry.port("publicport", self: &decoder)
            let privatePort = entry.port("privateport", self: &decoder)
            let vmID = entry.string("virtualmachineid", self: &decoder)
            _ = entry.string("protocol", required: false, self: &decoder)
            entry.finish(self: &decoder)
            guard let id, let ipID, let publicPort, let privatePort, let vmID else { return nil }
            return PortForwardingRule(
                id: id, ipAddressID: ipID, publicPort: publicPort, privatePort: privatePort,
                virtualMachineID: vmID)
        }
        corpus.applianceIntents = list(
            top, "vpcinlineloadbalancervms", keys: Keys.applianceIntent
        ) { decoder, entry in
            let networkID = entry.string("networkid", self: &decoder)
            let state =
                entry.enumeration("state", ApplianceIntent.State.self, self: &decoder) ?? .running
            entry.finish(self: &decoder)
            guard let networkID else { return nil }
            return ApplianceIntent(networkID: networkID, state: state)
        }
        top.finish(self: &self)
        return corpus
    }

    private mutating func decodePhysicalNetwork(_ entry: ObjectFields) -> PhysicalNetwork? {
        let id = entry.string("id", self: &self)
        let name = entry.string("name", required: false, self: &self) ?? ""
        let providers: [PhysicalNetwork.Provider] = list(
            entry, "providers", keys: Keys.provider
        ) { decoder, provider in
            let value = PhysicalNetwork.Provider(
                id: provider.string("id", self: &decoder) ?? "",
                name: provider.string("name", self: &decoder) ?? "",
                state: provider.string("state", required: false, self: &decoder) ?? "Enabled")
            provider.finish(self: &decoder)
            return value
        }
        let elements: [PhysicalNetwork.InlineLBElement] = list(
            entry, "vpcinlineloadbalancerelements", keys: Keys.inlineLBElement
        ) {
            decoder, element in
            let value = PhysicalNetwork.InlineLBElement(
                id: element.string("id", self: &decoder) ?? "",
                nspID: element.string("nspid", self: &decoder) ?? "",
                enabled: element.bool("enabled", self: &decoder) ?? true)
            element.finish(self: &decoder)
            return value
        }
        entry.finish(self: &self)
        guard let id else { return nil }
        return PhysicalNetwork(id: id, name: name, providers: providers, elements: elements)
    }

    private mutating func decodeVPC(_ entry: ObjectFields) -> VPC? {
        let id = entry.string("id", self: &self)
        let name = entry.string("name", required: false, self: &self) ?? id ?? ""
        let cidr = entry.network("cidr", self: &self)
        let offering = entry.string("vpcofferingid", self: &self)
        let sourceNAT = entry.address("sourcenatip", required: false, self: &self)
        entry.finish(self: &self)
        guard let id, let cidr, let offering else { return nil }
        return VPC(id: id, name: name, cidr: cidr, vpcOfferingID: offering, sourceNATIP: sourceNAT)
    }

    private mutating func decodeTier(_ entry: ObjectFields) -> Tier? {
        let id = entry.string("id", self: &self)
        let name = entry.string("name", required: false, self: &self) ?? id ?? ""
        let vpcID = entry.string("vpcid", self: &self)
        let offering = entry.string("networkofferingid", self: &self)
        let gateway = entry.address("gateway", self: &self)
        let netmask = entry.address("netmask", self: &self)
        let declaredCIDR = entry.network("cidr", required: false, self: &self)
        let acl: [ACLItem] = list(entry, "acl", keys: Keys.aclItem) { decoder, item in
            decoder.decodeACLItem(item)
        }
        entry.finish(self: &self)
        guard let id, let vpcID, let offering, let gateway, let netmask else { return nil }
        guard let cidr = IPv4Network(gateway: gateway, netmask: netmask) else {
            report(
                entry.path.appending("netmask"), entity: id,
                "netmask \(netmask) is not a contiguous mask")
            return nil
        }
        if let declaredCIDR, declaredCIDR != cidr {
            report(
                entry.path.appending("cidr"), entity: id,
                "cidr \(declaredCIDR) does not match gateway \(gateway) and netmask \(netmask) (\(cidr))"
            )
        }
        return Tier(
            id: id, name: name, vpcID: vpcID, networkOfferingID: offering, gateway: gateway,
            cidr: cidr,
            acl: acl)
    }

    private mutating func decodeACLItem(_ item: ObjectFields) -> ACLItem? {
        let number = item.integer("number", self: &self)
        let traffic =
            item.enumeration("traffictype", ACLItem.TrafficType.self, self: &self) ?? .ingress
        let action = item.enumeration("action", ACLItem.Action.self, self: &self) ?? .allow
        let ipProtocol = item.enumeration("protocol", ACLItem.ACLProtocol.self, self: &self) ?? .all
        let startPort = item.port("startport", required: false, self: &self)
        let endPort = item.port("endport", required: false, self: &self)
        let cidrs =
            item.cidrList("cidrlist", self: &self) ?? [
                IPv4Network(containing: IPv4Address(0), prefixLength: 0)
            ]
        item.finish(self: &self)
        guard let number else { return nil }
        if let startPort, let endPort, startPort > endPort {
            report(
                item.path.appending("endport"), "endport \(endPort) is below startport \(startPort)"
            )
        }
        return ACLItem(
            number: number, trafficType: traffic, action: action, ipProtocol: ipProtocol,
            startPort: startPort, endPort: endPort ?? startPort, cidrs: cidrs)
    }

    private mutating func decodeVirtualMachine(_ entry: ObjectFields) -> VirtualMachine? {
        let id = entry.string("id", self: &self)
        let name = entry.string("name", required: false, self: &self) ?? id ?? ""
        let hasNICList = entry.member("nic") != nil
        var nics: [VirtualMachine.NIC] = []
        if let networkID = entry.string("networkid", required: !hasNICList, self: &self),
            let address = entry.address("ipaddress", self: &self)
        {
            nics.append(VirtualMachine.NIC(networkID: networkID, ipAddress: address))
        }
        nics += list(entry, "nic", keys: Keys.nic) { decoder, nic in
            let networkID = nic.string("networkid", self: &decoder)
            let address = nic.address("ipaddress", self: &decoder)
            nic.finish(self: &decoder)
            guard let networkID, let address else { return nil }
            return VirtualMachine.NIC(networkID: networkID, ipAddress: address)
        }
        let state = entry.string("state", required: false, self: &self) ?? "Running"
        if !VirtualMachine.knownStates.contains(state) {
            report(
                entry.path.appending("state"), entity: id,
                "unknown VM state \"\(state)\"; expected one of \(VirtualMachine.knownStates.joined(separator: ", "))"
            )
        }
        entry.finish(self: &self)
        guard let id else { return nil }
        return VirtualMachine(id: id, name: name, nics: nics, state: state)
    }

    private mutating func decodeRule(_ entry: ObjectFields) -> LoadBalancerRule? {
        let id = entry.string("id", self: &self)
        let name = entry.string("name", required: false, self: &self) ?? id ?? ""
        let ipID = entry.string("publicipid", self: &self)
        let networkID = entry.string("networkid", self: &self)
        let publicPort = entry.port("publicport", self: &self)
        let privatePort = entry.port("privateport", self: &self)
        let lbProtocol = entry.enumeration("protocol", LBProtocol.self, self: &self) ?? .tcp
        var algorithm: LBAlgorithm?
        if let text = entry.string("algorithm", self: &self) {
            // Names are matched without regard to case; most are already lower case.
            algorithm = LBAlgorithm(named: text) ?? LBAlgorithm(rawValue: text.lowercased())
            if algorithm == nil {
                report(
                    entry.path.appending("algorithm"), entity: id,
                    "Invalid algorithm \"\(text)\"; expected roundrobin, leastconn or source")
            }
        }
        let cidrs = entry.cidrList("cidrlist", self: &self) ?? []
        let vmIDs = entry.strings("virtualmachineids", self: &self) ?? []
        var stickiness: StickinessPolicy?
        if let policy = entry.nested(
            "stickinesspolicy", keys: Keys.stickiness, entity: id, self: &self)
        {
            stickiness = decodeStickiness(policy, rule: id)
        }
        var healthCheck: HealthCheckPolicy?
        if let policy = entry.nested(
            "healthcheckpolicy", keys: Keys.healthCheck, entity: id, self: &self)
        {
            healthCheck = HealthCheckPolicy(
                pingPath: policy.string("pingpath", required: false, self: &self) ?? "/",
                responseTimeout: policy.integer("responsetimeout", required: false, self: &self)
                    ?? 2,
                intervalTime: policy.integer("intervaltime", required: false, self: &self) ?? 5,
                healthyThreshold: policy.integer("healthythreshold", required: false, self: &self)
                    ?? 2,
                unhealthyThreshold: policy.integer(
                    "unhealthythreshold", required: false, self: &self) ?? 10)
            policy.finish(self: &self)
        }
        var state = RuleState.live
        if let text = entry.string("state", required: false, self: &self) {
            switch text {
            case "Revoke": state = .revoke
            case "Add", "Active": state = .live
            default:
                report(
                    entry.path.appending("state"), entity: id,
                    "unknown rule state \"\(text)\"; expected Add, Active or Revoke")
            }
        }
        entry.finish(self: &self)
        guard let id, let ipID, let networkID, let publicPort, let privatePort, let algorithm else {
            return nil
        }
        return LoadBalancerRule(
            id: id, name: name, publicIPID: ipID, networkID: networkID, publicPort: publicPort,
            privatePort: privatePort, lbProtocol: lbProtocol, algorithm: algorithm, cidrs: cidrs,
            virtualMachineIDs: vmIDs, stickiness: stickiness, healthCheck: healthCheck, state: state
        )
    }

    /// The member names each kind of object may have, in the order they usually come.
    enum Keys {
        static let top = JSONKeys([
            "format", "name", "zone", "physicalnetworks", "vpcofferings", "networkofferings",
            "vpcs", "networks", "virtualmachines", "publicipaddresses", "loadbalancerrules",
            "portforwardingrules", "vpcinlineloadbalancervms",
        ])
        static let zone = JSONKeys(["id", "name"])
        static let physicalNetwork = JSONKeys([
            "id", "name", "providers", "vpcinlineloadbalancerelements",
        ])
        static let provider = JSONKeys(["id", "name", "state"])
        static let inlineLBElement = JSONKeys(["id", "nspid", "enabled"])
        static let vpcOffering = JSONKeys(["id", "name", "lbprovider"])
        static let networkOffering = JSONKeys([
            "id", "name", "lbprovider", "concurrentconnections", "keepaliveenabled",
        ])
        static let vpc = JSONKeys(["id", "name", "cidr", "vpcofferingid", "sourcenatip"])
        static let tier = JSONKeys([
            "id", "name", "vpcid", "networkofferingid", "gateway", "netmask", "cidr", "acl",
        ])
        static let aclItem = JSONKeys([
            "number", "traffictype", "action", "protocol", "startport", "endport", "cidrlist",
        ])
        static let virtualMachine = JSONKeys([
            "id", "name", "networkid", "ipaddress", "nic", "state",
        ])
        static let nic = JSONKeys(["networkid", "ipaddress"])
        static let publicIP = JSONKeys(["id", "ipaddress", "vpcid", "virtualmachineid"])
        static let rule = JSONKeys([
            "id", "name", "publicipid", "networkid", "publicport", "privateport", "protocol",
            "algorithm", "cidrlist", "virtualmachineids", "stickinesspolicy", "healthcheckpolicy",
            "state",
        ])
        static let stickiness = JSONKeys(["methodname", "name", "params"])
        static let healthCheck = JSONKeys([
            "pingpath", "responsetimeout", "intervaltime", "healthythreshold",
            "unhealthythreshold",
        ])
        static let portForwarding = JSONKeys([
            "id", "ipaddressid", "publicport", "privateport", "virtualmachineid", "protocol",
        ])
        static let applianceIntent = JSONKeys(["networkid", "state"])
    }

    private mutating func decodeStickiness(_ policy: ObjectFields, rule: String?)
        -> StickinessPolicy?
    {
        let method = policy.enumeration("methodname", StickinessPolicy.Method.self, self: &self)
        let name = policy.string("name", required: false, self: &self) ?? ""
        var params: [(name: String, value: String)] = []
        if let node = policy.member("params") {
            var path: JSONPath { policy.path.appending("params") }
            if node.kind == .object {
                for member in node.members {
                    let value = member.node
                    switch value.kind {
                    case .string: params.append((member.key, value.string ?? ""))
                    case .number: params.append((member.key, value.numberText ?? ""))
                    case .true: params.append((member.key, "true"))
                    case .false: continue
                    default:
                        report(
                            path.appending(member.key), entity: rule,
                            "expected a string, a number or true, found \(value.kind.description)")
                    }
                }
            } else {
                report(path, entity: rule, "expected an object, found \(node.kind.description)")
            }
        }
        policy.finish(self: &self)
        guard let method else { return nil }
        return StickinessPolicy(method: method, name: name, params: params)
    }

    // MARK: - Helpers

    fileprivate mutating func report(_ path: JSONPath, entity: String? = nil, _ message: String) {
        diagnostics.append(
            source.diagnostic(at: path, entity: entity.map { "id \"\($0)\"" }, message))
    }

    private mutating func object(
        _ node: JSONTapeNode, at path: JSONPath, keys: JSONKeys, entity: String? = nil
    ) -> ObjectFields? {
        object(node, parent: path, steps: ObjectFields.Steps(), keys: keys, entity: entity)
    }

    /// The fields of `node`, whose path is `parent` extended by `steps` (joined only when a
    /// diagnostic needs it).
    fileprivate mutating func object(
        _ node: JSONTapeNode, parent: JSONPath, steps: ObjectFields.Steps, keys: JSONKeys,
        entity: String? = nil
    ) -> ObjectFields? {
        let fields = ObjectFields(node, keys: keys, parent: parent, steps: steps, entity: entity)
        guard node.kind == .object else {
            report(fields.path, "expected an object, found \(node.kind.description)")
            return nil
        }
        return fields
    }

    /// The elements of array `key` of `parent`, decoded; nil results are left out.
    ///
    /// Long arrays (rules, VMs) are decoded in consecutive parts on all cores, each part with
    /// its own diagnostics, joined in order: the result and the diagnostics are those of one
    /// pass. Each part decodes straight into its place in the result (copying a million
    /// decoded rules out of per-part arrays retained and released every string in them).
    private mutating func list<Element: Sendable>(
        _ parent: ObjectFields, _ key: String, keys: JSONKeys,
        _ decode: @Sendable (inout CorpusDecoder, ObjectFields) -> Element?
    ) -> [Element] {
        guard let node = parent.member(key) else { return [] }
        let path = parent.path.appending(key)
        guard node.kind == .array else {
            report(path, "expected an array, found \(node.kind.description)")
            return []
        }
        let fresh = CorpusDecoder(source: source)
        let parts = node.elementParts(
            into: node.count >= CorpusDecoder.parallelListLength ? 64 : 1)
        var diagnostics: [Diagnostic] = []
        let result = [Element](unsafeUninitializedCapacity: node.count) { buffer, count in
            // Each part initializes only the slots of its own elements.
            nonisolated(unsafe) let output = buffer
            let decoded = parts.concurrentMap { part in
                var decoder = fresh
                // Copied per part: each element's fields retain them, and a reference count
                // that two cores update costs more than the decoding itself.
                let keys = keys.unshared
                let path = path.unshared
                var next = part.offset
                for (step, element) in part.elements.enumerated() {
                    guard
                        let fields = decoder.object(
                            element, parent: path,
                            steps: ObjectFields.Steps(.index(part.offset + step)), keys: keys),
                        let value = decode(&decoder, fields)
                    else { continue }
                    output.initializeElement(at: next, to: value)
                    next += 1
                }
                return (count: next - part.offset, diagnostics: decoder.diagnostics)
            }
            // Elements that did not decode left gaps at the ends of their parts: close them.
            for (part, decodedPart) in zip(parts, decoded) {
                if count != part.offset {
                    (output.baseAddress! + count).moveInitialize(
                        from: output.baseAddress! + part.offset, count: decodedPart.count)
                }
                count += decodedPart.count
                diagnostics += decodedPart.diagnostics
            }
        }
        self.diagnostics += diagnostics
        return result
    }

    /// Arrays at least this long are decoded on all cores.
    static let parallelListLength = 4096
}

/// One JSON object being decoded: typed accessors for its members, and the check that
/// every member was expected. Its members are sorted out against the expected keys in one walk
/// when it is made.
struct ObjectFields {
    private let object: JSONTapeNode
    private let keys: JSONKeys
    private let members: JSONMemberTable
    private let parent: JSONPath
    private let steps: Steps
    private let owner: String?

    /// Up to two steps below a path, kept apart so that the fields of an object in a list, or
    /// of an object inside one, do not build their path unless a diagnostic needs it.
    struct Steps {
        var first: JSONPath.Component?
        var second: JSONPath.Component?

        init(_ first: JSONPath.Component? = nil, _ second: JSONPath.Component? = nil) {
            self.first = first
            self.second = second
        }
    }

    /// The entity diagnostics name: the object's own id, else its owner's.
    var entity: String? { member("id")?.string ?? owner }

    /// The object's JSON path.
    var path: JSONPath {
        var path = parent
        for step in [steps.first, steps.second].compactMap({ $0 }) {
            switch step {
            case .key(let key): path = path.appending(key)
            case .index(let index): path = path.appending(index)
            }
        }
        return path
    }

    /// `keys` are the member names the object may have; `entity` names the owning entity for
    /// nested objects without an id of their own.
    init(
        _ object: JSONTapeNode, keys: JSONKeys, parent: JSONPath, steps: Steps, entity: String?
    ) {
        self.object = object
        self.keys = keys
        members = object.members(matching: keys)
        self.parent = parent
        self.steps = steps
        self.owner = entity
    }

    /// The fields of member `key`, an object owned by `entity`; nil when the member is missing,
    /// and nil with a diagnostic when it is not an object.
    func nested(
        _ key: String, keys: JSONKeys, entity: String?, self decoder: inout CorpusDecoder
    ) -> ObjectFields? {
        guard let node = member(key) else { return nil }
        if steps.second == nil, let first = steps.first {
            return decoder.object(
                node, parent: parent, steps: Steps(first, .key(key)), keys: keys, entity: entity)
        }
        return decoder.object(
            node, parent: path, steps: Steps(.key(key)), keys: keys, entity: entity)
    }

    /// The first member named `key`; found in the table when `key` is expected.
    func member(_ key: String) -> JSONTapeNode? {
        keys.position(of: key).map(members.value(at:)) ?? object.member(key)
    }

    private func fail(_ key: String, _ message: String, _ decoder: inout CorpusDecoder) {
        decoder.report(path.appending(key), entity: entity, message)
    }

    func string(_ key: String, required: Bool = true, self decoder: inout CorpusDecoder) -> String?
    {
        guard let node = member(key), !node.isNull else {
            if required { fail(key, "missing required field \"\(key)\"", &decoder) }
            return nil
        }
        guard let text = node.string else {
            fail(key, "expected a string, found \(node.kind.description)", &decoder)
            return nil
        }
        if required && text.isEmpty {
            fail(key, "must not be empty", &decoder)
            return nil
        }
        return text
    }

    func integer(_ key: String, required: Bool = true, self decoder: inout CorpusDecoder) -> Int? {
        guard let node = member(key), !node.isNull else {
            if required { fail(key, "missing required field \"\(key)\"", &decoder) }
            return nil
        }
        if node.kind == .number {
            if let integer = node.integer { return integer }
            fail(key, "expected an integer, found \(node.numberText ?? "")", &decoder)
            return nil
        }
        fail(key, "expected an integer, found \(node.kind.description)", &decoder)
        return nil
    }

    func bool(_ key: String, self decoder: inout CorpusDecoder) -> Bool? {
        guard let node = member(key), !node.isNull else { return nil }
        guard let flag = node.bool else {
            fail(key, "expected true or false, found \(node.kind.description)", &decoder)
            return nil
        }
        return flag
    }

    /// A port: an integer or CloudStack's string form; ranges are refused as CloudStack does.
    func port(_ key: String, required: Bool = true, self decoder: inout CorpusDecoder) -> Int? {
        guard let node = member(key), !node.isNull else {
            if required { fail(key, "missing required field \"\(key)\"", &decoder) }
            return nil
        }
        let value: Int?
        switch node.kind {
        case .number:
            guard let integer = node.integer else {
                fail(key, "expected an integer port, found \(node.numberText ?? "")", &decoder)
                return nil
            }
            value = integer
        case .string:
            let text = node.string ?? ""
            if text.contains("-") || text.contains(":") {
                fail(
                    key, "Port ranges are not supported by the load balancer (\"\(text)\")",
                    &decoder)
                return nil
            }
            guard !text.isEmpty, text.utf8.count <= 10, text.allSatisfy(\.isASCIIDigitCharacter)
            else {
                fail(key, "expected a port number, found \"\(text)\"", &decoder)
                return nil
            }
            value = Int(text)
        default:
            fail(key, "expected a port number, found \(node.kind.description)", &decoder)
            return nil
        }
        guard let value, (1...65535).contains(value) else {
            fail(key, "port \(value.map(String.init) ?? "?") is out of range 1-65535", &decoder)
            return nil
        }
        return value
    }

    func address(_ key: String, required: Bool = true, self decoder: inout CorpusDecoder)
        -> IPv4Address?
    {
        guard let text = string(key, required: required, self: &decoder) else { return nil }
        guard let address = IPv4Address(text) else {
            fail(key, "\"\(text)\" is not an IPv4 address", &decoder)
            return nil
        }
        return address
    }

    func network(_ key: String, required: Bool = true, self decoder: inout CorpusDecoder)
        -> IPv4Network?
    {
        guard let text = string(key, required: required, self: &decoder) else { return nil }
        guard let network = IPv4Network(text) else {
            fail(key, "\"\(text)\" is not a CIDR (a.b.c.d/n with the host bits zero)", &decoder)
            return nil
        }
        return network
    }

    /// CloudStack's comma-separated CIDR list; each entry a CIDR or an address.
    func cidrList(_ key: String, self decoder: inout CorpusDecoder) -> [IPv4Network]? {
        guard let text = string(key, required: false, self: &decoder) else { return nil }
        var result: [IPv4Network] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = entry.trimmingASCIISpaces
            guard let network = IPv4Network(trimmed) else {
                fail(key, "cidrlist entry \"\(trimmed)\" is not a valid CIDR or address", &decoder)
                return nil
            }
            result.append(network)
        }
        return result
    }

    func strings(_ key: String, self decoder: inout CorpusDecoder) -> [String]? {
        guard let node = member(key), !node.isNull else { return nil }
        guard node.kind == .array else {
            fail(key, "expected an array of ids, found \(node.kind.description)", &decoder)
            return nil
        }
        if let ids = node.nonEmptyStrings { return ids }
        var result: [String] = []
        result.reserveCapacity(node.count)
        for (index, element) in node.elements.enumerated() {
            guard let text = element.string, !text.isEmpty else {
                decoder.report(
                    path.appending(key).appending(index), entity: entity,
                    "expected an id string, found \(element.kind.description)")
                continue
            }
            result.append(text)
        }
        return result
    }

    func enumeration<Value: RawRepresentable<String>>(
        _ key: String, _ type: Value.Type, self decoder: inout CorpusDecoder
    ) -> Value? where Value: CaseIterable {
        guard let text = string(key, required: false, self: &decoder) else { return nil }
        if let value = Value(rawValue: text) { return value }
        if let value = Value.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }
        ) {
            return value
        }
        let expected = Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        fail(key, "unknown value \"\(text)\"; expected one of \(expected)", &decoder)
        return nil
    }

    /// Reports every member not among the keys (suggesting the closest key) and every
    /// repeated member.
    func finish(self decoder: inout CorpusDecoder) {
        for member in members.repeated {
            decoder.report(
                path.appending(member.key), entity: entity, "duplicate member \"\(member.key)\"")
        }
        for member in members.unknown {
            var message = "unknown field \"\(member.key)\""
            if let suggestion = closestName(to: member.key, among: keys.names) {
                message += "; did you mean \"\(suggestion)\"?"
            }
            decoder.report(path.appending(member.key), entity: entity, message)
        }
    }
}

extension LBAlgorithm {
    /// The algorithm whose name is `text` exactly. A name of up to 15 bytes is held in the
    /// `String` value itself, so equal bits mean equal names: one comparison per algorithm,
    /// where `init(rawValue:)` runs the runtime's string switch (about 300 instructions for
    /// every rule).
    init?(named text: String) {
        let bits = unsafeBitCast(text, to: SIMD2<UInt64>.self)
        for algorithm in [LBAlgorithm.roundrobin, .leastconn, .source]
        where unsafeBitCast(algorithm.rawValue, to: SIMD2<UInt64>.self) == bits {
            self = algorithm
            return
        }
        self.init(rawValue: text)
    }
}

extension VirtualMachine {
    /// The VM states CloudStack reports.
    public static let knownStates = [
        "Running", "Stopped", "Starting", "Stopping", "Migrating", "Error", "Destroyed",
        "Expunging",
    ]
}

extension Substring {
    var trimmingASCIISpaces: Substring {
        var slice = self
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return slice
    }
}

/// The name in `candidates` closest to `name` by edit distance, if it is close enough to be
/// a plausible typo.
func closestName(to name: String, among candidates: [String]) -> String? {
    let lowered = name.lowercased()
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
    }
    guard let best, best.1 <= max(2, name.count / 3) else { return nil }
    return best.0
}

/// Levenshtein distance between two strings.
func editDistance(_ first: String, _ second: String) -> Int {
    let a = Array(first.utf8)
    let b = Array(second.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
