import InlineLBCore

/// Walks packets through an iptables ruleset: rules in order, jumps into user chains,
/// RETURN or falling off a user chain back to the caller, built-in chains ending in their
/// policy (REFERENCE.md §6).
///
/// Each chain is indexed so that a packet's cost does not grow with the number of rules:
/// rules matching one destination address (`-d a.b.c.d/32`) are found through a hash of that
/// address, and merged in file order with the rules that cannot be indexed, which keeps the
/// first-match semantics exact.
struct NetfilterEngine: Sendable {
    let ruleset: IptablesRuleset
    /// Every chain of every table, jumps resolved to positions in this array.
    private let chains: [IndexedChain]
    /// For each hook, the chains it runs (table order, tables present only).
    private let hookChains: [String: [(table: String, chain: Int)]]

    /// One chain, its rules split into those indexed by destination and the others.
    private final class IndexedChain: Sendable {
        let rules: [NetfilterRule]
        let policy: NetfilterVerdict?
        let line: Int
        let generic: [Int]
        let byDestination: [UInt32: [Int]]
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
            for (position, rule) in chain.rules.enumerated() {
                if let destination = rule.destination, !destination.negated,
                    destination.network.prefixLength == 32
                {
                    byDestination[destination.network.network.value, default: []].append(position)
                } else {
                    generic.append(position)
                }
            }
            self.generic = generic
            self.byDestination = byDestination
            self.jumps = jumps
        }
    }

    init(ruleset: IptablesRuleset) {
        self.ruleset = ruleset
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
        var hookChains: [String: [(table: String, chain: Int)]] = [:]
        for (hook, tables) in NetfilterEngine.hookTables {
            hookChains[hook] = tables.compactMap { table in
                positions[table + "/" + hook].map { (table, $0) }
            }
        }
        self.hookChains = hookChains
    }

    /// The tables each hook runs, in kernel order (`nat` only for the first packet of a
    /// connection; the caller decides).
    static let hookTables: [String: [String]] = [
        "PREROUTING": ["raw", "mangle", "nat"],
        "INPUT": ["mangle", "filter", "nat"],
        "FORWARD": ["mangle", "filter"],
        "OUTPUT": ["raw", "mangle", "nat", "filter"],
        "POSTROUTING": ["mangle", "nat"],
    ]

    /// Runs `hook` over the tables present: the verdict that decided (DROP or REJECT ends
    /// the walk), the NAT applied, or the last filter ACCEPT with its line.
    func run(hook: String, packet: Packet, includeNAT: Bool) -> ChainResult {
        var decision = ChainResult.accept(nil)
        for (table, chain) in hookChains[hook] ?? [] where table != "nat" || includeNAT {
            let result = walk(chain, packet: packet)
            switch result {
            case .drop, .reject: return result
            case .dnat, .snat: decision = result
            case .accept: if table != "nat" { decision = result }
            }
        }
        return decision
    }

    private enum WalkResult {
        case terminal(ChainResult)
        case returned
    }

    private func walk(_ position: Int, packet: Packet) -> ChainResult {
        switch walkChain(position, packet: packet, depth: 0) {
        case .terminal(let result): return result
        case .returned:
            let chain = chains[position]
            let line = SourceLine(file: ruleset.file, line: chain.line)
            return chain.policy == .drop ? .drop(line) : .accept(line)
        }
    }

    private func walkChain(_ chainPosition: Int, packet: Packet, depth: Int) -> WalkResult {
        guard depth < 64 else { return .returned }
        let chain = chains[chainPosition]
        let specific = chain.byDestination[packet.destination.value] ?? []
        let generic = chain.generic
        var nextGeneric = 0
        var nextSpecific = 0
        // Both lists are in file order: merge them, so rules are tried exactly in file order.
        while nextGeneric < generic.count || nextSpecific < specific.count {
            let position: Int
            if nextSpecific == specific.count
                || (nextGeneric < generic.count && generic[nextGeneric] < specific[nextSpecific])
            {
                position = generic[nextGeneric]
                nextGeneric += 1
            } else {
                position = specific[nextSpecific]
                nextSpecific += 1
            }
            guard chain.tests[position].matches(packet, interfaces: chain.interfaces) else {
                continue
            }
            let line = SourceLine(file: ruleset.file, line: chain.rules[position].line)
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
                if case .terminal(let result) = walkChain(target, packet: packet, depth: depth + 1)
                {
                    return .terminal(result)
                }
            }
        }
        return .returned
    }
}

/// A rule's matches reduced to plain values. Packets are TCP, so the protocol and ICMP
/// matches are decided once here.
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
        source = rule.source
        destination = rule.destination
        sourcePorts = rule.sourcePorts
        destinationPorts = rule.destinationPorts
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

    func matches(_ packet: Packet, interfaces: [InterfaceMatch]) -> Bool {
        guard canMatchTCP, admittedStates & RuleTest.stateBit(packet.state) != 0 else {
            return false
        }
        if let match = source, !match.matches(packet.source) { return false }
        if let match = destination, !match.matches(packet.destination) { return false }
        if let match = sourcePorts, !match.matches(packet.sourcePort) { return false }
        if let match = destinationPorts, !match.matches(packet.destinationPort) { return false }
        if let index = inInterface, !interfaces[index].matches(packet.inInterface) {
            return false
        }
        if let index = outInterface, !interfaces[index].matches(packet.outInterface) {
            return false
        }
        return true
    }
}
