import InlineLBCore

/// Walks packets through an iptables ruleset: rules in order, jumps into user chains,
/// RETURN or falling off a user chain back to the caller, built-in chains ending in their
/// policy (REFERENCE.md §6).
///
/// Each chain is indexed so that a packet's cost does not grow with the number of rules:
/// rules matching one destination address (`-d a.b.c.d/32`, as DNAT and appliance rules do)
/// or else one source address (`-s a.b.c.d/32`, as SNAT rules do) are found through a hash of
/// that address, and merged in file order with the rules that cannot be indexed, which keeps
/// the first-match semantics exact.
struct NetfilterEngine: Sendable {
    /// The iptables file, as source lines name it.
    let file: String
    /// Every chain of every table, jumps resolved to positions in this array.
    private let chains: [IndexedChain]
    /// For each hook (by raw value), the chains it runs: table order, tables present only.
    private let hookChains: [[(isNAT: Bool, chain: Int)]]
    /// The addresses of every indexed rule: a packet from or to one of them meets rules that
    /// other packets do not, whatever ``run(hook:packet:includeNAT:client:)`` says about
    /// reading the client.
    let indexedAddresses: Set<UInt32>

    /// One chain, its rules split into those indexed by destination, those indexed by source
    /// and the others, each list in file order.
    private final class IndexedChain: Sendable {
        let rules: [NetfilterRule]
        let policy: NetfilterVerdict?
        let line: Int
        let generic: [Int]
        let byDestination: [UInt32: [Int]]
        let bySource: [UInt32: [Int]]
        /// Per rule: the position of the chain a jump goes to (nil: not a jump, or to a
        /// chain that does not exist, which iptables-restore refuses and we ignore).
        let jumps: [Int?]
        /// Per rule, its matches with no references, so that testing one copies nothing.
        let tests: [RuleTest]
        /// The interface matches the tests refer to.
        let interfaces: [InterfaceMatch]

        init(_ chain: NetfilterChain, jumps: [Int?]) {
            rules = chain.rules
            var interfaces: [InterfaceMatch] = []
            tests = chain.rules.map { rule in RuleTest(rule, interfaces: &interfaces) }
            self.interfaces = interfaces
            policy = chain.policy
            line = chain.line
            var generic: [Int] = []
            var byDestination: [UInt32: [Int]] = [:]
            var bySource: [UInt32: [Int]] = [:]
            /// The address of a plain `/32` match.
            func host(_ match: AddressMatch?) -> UInt32? {
                guard let match, !match.negated, match.network.prefixLength == 32 else {
                    return nil
                }
                return match.network.network.value
            }
            for (position, rule) in chain.rules.enumerated() {
                if let destination = host(rule.destination) {
                    byDestination[destination, default: []].append(position)
                } else if let source = host(rule.source) {
                    bySource[source, default: []].append(position)
                } else {
                    generic.append(position)
                }
            }
            self.generic = generic
            self.byDestination = byDestination
            self.bySource = bySource
            self.jumps = jumps
        }
    }

    init(ruleset: IptablesRuleset) {
        file = ruleset.file
        var positions: [String: Int] = [:]
        var declared: [(table: String, chain: NetfilterChain)] = []
        for table in ruleset.tables.values.sorted(by: { $0.name < $1.name }) {
            for chain in table.chains.values.sorted(by: { $0.name < $1.name }) {
                positions[table.name + "/" + chain.name] = declared.count
                declared.append((table.name, chain))
            }
        }
        chains = declared.map { table, chain in
            IndexedChain(
                chain,
                jumps: chain.rules.map { rule in
                    guard case .jump(let target) = rule.target else { return nil }
                    return positions[table + "/" + target]
                })
        }
        indexedAddresses = chains.reduce(into: []) { addresses, chain in
            addresses.formUnion(chain.byDestination.keys)
            addresses.formUnion(chain.bySource.keys)
        }
        hookChains = NetfilterHook.allCases.map { hook in
            hook.tables.compactMap { table in
                positions[table + "/" + hook.chainName].map { (table == "nat", $0) }
            }
        }
    }

    /// Runs `hook` over the tables present: the verdict that decided (DROP or REJECT ends
    /// the walk), the NAT applied, or the last filter ACCEPT with its line.
    ///
    /// `client` says which end of `packet` is the flow's client (its address and port);
    /// `readsClient` tells whether any rule tried looked at them. When none did, the verdict
    /// holds for every client whose address no rule indexes (see ``indexedAddresses``).
    func run(
        hook: NetfilterHook, packet: Packet, includeNAT: Bool, client: PacketEnd? = nil
    ) -> (verdict: ChainResult, readsClient: Bool) {
        var decision = ChainResult.accept(nil)
        var walk = Walk(packet: packet, client: client)
        for (isNAT, chain) in hookChains[hook.rawValue] where !isNAT || includeNAT {
            let result = self.walk(chain, &walk)
            switch result {
            case .drop, .reject: return (result, walk.readsClient)
            case .dnat, .snat: decision = result
            case .accept: if !isNAT { decision = result }
            }
        }
        return (decision, walk.readsClient)
    }

    private enum WalkResult {
        case terminal(ChainResult)
        case returned
    }

    /// One packet's way through the chains of a hook.
    private struct Walk {
        let packet: Packet
        let client: PacketEnd?
        /// Whether a rule tried so far looked at the client's address or port.
        var readsClient = false
    }

    private func walk(_ position: Int, _ walk: inout Walk) -> ChainResult {
        switch walkChain(position, &walk, depth: 0) {
        case .terminal(let result): return result
        case .returned:
            let chain = chains[position]
            let line = SourceLine(file: file, line: chain.line)
            return chain.policy == .drop ? .drop(line) : .accept(line)
        }
    }

    private func walkChain(_ chainPosition: Int, _ walk: inout Walk, depth: Int) -> WalkResult {
        guard depth < 64 else { return .returned }
        let chain = chains[chainPosition]
        let packet = walk.packet
        var candidates = RuleMerge(
            chain.generic, chain.byDestination[packet.destination.value] ?? [],
            chain.bySource[packet.source.value] ?? [])
        while let position = candidates.next() {
            guard
                chain.tests[position].matches(
                    packet, client: walk.client, interfaces: chain.interfaces,
                    readsClient: &walk.readsClient)
            else {
                continue
            }
            let line = SourceLine(file: file, line: chain.rules[position].line)
            switch chain.rules[position].target {
            case .accept: return .terminal(.accept(line))
            case .drop: return .terminal(.drop(line))
            case .reject: return .terminal(.reject(line))
            case .returnFromChain: return .returned
            case .dnat(let address, let port): return .terminal(.dnat(address, port: port, line))
            case .snat(let address, let port): return .terminal(.snat(address, port: port, line))
            case .masquerade: return .terminal(.accept(line))
            case .jump:
                guard let target = chain.jumps[position] else { continue }
                if case .terminal(let result) = walkChain(target, &walk, depth: depth + 1) {
                    return .terminal(result)
                }
            }
        }
        return .returned
    }
}

/// Positions from three lists in file order, merged so that rules are tried exactly in file
/// order.
private struct RuleMerge {
    private let lists: (generic: [Int], destination: [Int], source: [Int])
    private var heads = (generic: 0, destination: 0, source: 0)

    init(_ generic: [Int], _ destination: [Int], _ source: [Int]) {
        lists = (generic, destination, source)
    }

    /// The next position, or nil when all three lists are done.
    mutating func next() -> Int? {
        let generic = heads.generic < lists.generic.count ? lists.generic[heads.generic] : Int.max
        let destination =
            heads.destination < lists.destination.count
            ? lists.destination[heads.destination] : Int.max
        let source = heads.source < lists.source.count ? lists.source[heads.source] : Int.max
        let position = min(generic, destination, source)
        if position == Int.max { return nil }
        if position == generic {
            heads.generic += 1
        } else if position == destination {
            heads.destination += 1
        } else {
            heads.source += 1
        }
        return position
    }
}

/// A netfilter hook: the built-in chain of that name in each table it runs.
enum NetfilterHook: Int, CaseIterable {
    case prerouting, input, forward, output, postrouting

    /// The built-in chain's name.
    var chainName: String {
        switch self {
        case .prerouting: "PREROUTING"
        case .input: "INPUT"
        case .forward: "FORWARD"
        case .output: "OUTPUT"
        case .postrouting: "POSTROUTING"
        }
    }

    /// The tables the hook runs, in kernel order (`nat` only for the first packet of a
    /// connection; the caller decides).
    var tables: [String] {
        switch self {
        case .prerouting: ["raw", "mangle", "nat"]
        case .input: ["mangle", "filter", "nat"]
        case .forward: ["mangle", "filter"]
        case .output: ["raw", "mangle", "nat", "filter"]
        case .postrouting: ["mangle", "nat"]
        }
    }
}

/// The end of a packet that is the flow's client: the source of what the client sends, the
/// destination of the replies.
enum PacketEnd {
    case source, destination
}

/// A rule's matches reduced to plain values. Packets are TCP, so the protocol and ICMP
/// matches are decided once here, and address and port matches that admit everything are
/// dropped.
private struct RuleTest {
    var source: AddressMatch?
    var destination: AddressMatch?
    var sourcePorts: PortMatch?
    var destinationPorts: PortMatch?
    var inInterface: Int?
    var outInterface: Int?
    /// Bit `n` set: the rule admits state `n` of ``RuleTest/stateBit(_:)``.
    var admittedStates: UInt8
    var canMatchTCP: Bool

    init(_ rule: NetfilterRule, interfaces: inout [InterfaceMatch]) {
        func narrowing(_ match: AddressMatch?) -> AddressMatch? {
            match.flatMap { $0.network.prefixLength == 0 && !$0.negated ? nil : $0 }
        }
        func narrowing(_ match: PortMatch?) -> PortMatch? {
            match.flatMap { $0.range == 0...65535 && !$0.negated ? nil : $0 }
        }
        source = narrowing(rule.source)
        destination = narrowing(rule.destination)
        sourcePorts = narrowing(rule.sourcePorts)
        destinationPorts = narrowing(rule.destinationPorts)
        if let match = rule.inInterface {
            inInterface = interfaces.count
            interfaces.append(match)
        }
        if let match = rule.outInterface {
            outInterface = interfaces.count
            interfaces.append(match)
        }
        admittedStates = 0
        for state in [ConnectionState.new, .established, .related, .invalid, .untracked]
        where rule.states?.matches(state) ?? true {
            admittedStates |= RuleTest.stateBit(state)
        }
        canMatchTCP = (rule.ipProtocol?.matches("tcp") ?? true) && rule.icmpType == nil
    }

    static func stateBit(_ state: ConnectionState) -> UInt8 {
        switch state {
        case .new: 1
        case .established: 2
        case .related: 4
        case .invalid: 8
        case .untracked: 16
        }
    }

    /// Whether the rule matches `packet`. The client's end (`client`) is tested last, so
    /// that a rule another match already rules out does not count as reading the client;
    /// `readsClient` is set when the client's address or port is tested.
    func matches(
        _ packet: Packet, client: PacketEnd?, interfaces: [InterfaceMatch],
        readsClient: inout Bool
    ) -> Bool {
        guard canMatchTCP, admittedStates & RuleTest.stateBit(packet.state) != 0 else {
            return false
        }
        if let index = inInterface, !interfaces[index].matches(packet.inInterface) {
            return false
        }
        if let index = outInterface, !interfaces[index].matches(packet.outInterface) {
            return false
        }
        if client != .source, !matchesSource(packet) { return false }
        if client != .destination, !matchesDestination(packet) { return false }
        switch client {
        case .source? where source != nil || sourcePorts != nil:
            readsClient = true
            return matchesSource(packet)
        case .destination? where destination != nil || destinationPorts != nil:
            readsClient = true
            return matchesDestination(packet)
        default:
            return true
        }
    }

    private func matchesSource(_ packet: Packet) -> Bool {
        if let match = source, !match.matches(packet.source) { return false }
        if let match = sourcePorts, !match.matches(packet.sourcePort) { return false }
        return true
    }

    private func matchesDestination(_ packet: Packet) -> Bool {
        if let match = destination, !match.matches(packet.destination) { return false }
        if let match = destinationPorts, !match.matches(packet.destinationPort) { return false }
        return true
    }
}
