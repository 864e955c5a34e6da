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
    private let indexes: [String: ChainIndex]

    /// The rules of one chain split into those indexed by destination and the others.
    private struct ChainIndex: Sendable {
        var generic: [Int] = []
        var byDestination: [UInt32: [Int]] = [:]
    }

    init(ruleset: IptablesRuleset) {
        self.ruleset = ruleset
        var indexes: [String: ChainIndex] = [:]
        for table in ruleset.tables.values {
            for chain in table.chains.values {
                var index = ChainIndex()
                for (position, rule) in chain.rules.enumerated() {
                    if let destination = rule.destination, !destination.negated,
                        destination.network.prefixLength == 32
                    {
                        index.byDestination[destination.network.network.value, default: []].append(
                            position)
                    } else {
                        index.generic.append(position)
                    }
                }
                indexes[table.name + "/" + chain.name] = index
            }
        }
        self.indexes = indexes
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
        for table in NetfilterEngine.hookTables[hook]! where table != "nat" || includeNAT {
            guard ruleset.chain(table, hook) != nil else { continue }
            let result = walk(table: table, chain: hook, packet: packet, depth: 0)
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

    private func walk(table: String, chain name: String, packet: Packet, depth: Int) -> ChainResult
    {
        switch walkChain(table: table, chain: name, packet: packet, depth: depth) {
        case .terminal(let result): return result
        case .returned:
            let chain = ruleset.chain(table, name)
            let line = chain.map { SourceLine(file: ruleset.file, line: $0.line) }
            return chain?.policy == .drop ? .drop(line) : .accept(line)
        }
    }

    private func walkChain(table: String, chain name: String, packet: Packet, depth: Int)
        -> WalkResult
    {
        guard depth < 64, let chain = ruleset.chain(table, name),
            let index = indexes[table + "/" + name]
        else {
            return .returned
        }
        let specific = index.byDestination[packet.destination.value] ?? []
        var nextGeneric = 0
        var nextSpecific = 0
        // Both lists are in file order: merge them, so rules are tried exactly in file order.
        while nextGeneric < index.generic.count || nextSpecific < specific.count {
            let position: Int
            if nextSpecific == specific.count
                || (nextGeneric < index.generic.count
                    && index.generic[nextGeneric] < specific[nextSpecific])
            {
                position = index.generic[nextGeneric]
                nextGeneric += 1
            } else {
                position = specific[nextSpecific]
                nextSpecific += 1
            }
            let rule = chain.rules[position]
            guard matches(rule, packet) else { continue }
            let line = SourceLine(file: ruleset.file, line: rule.line)
            switch rule.target {
            case .accept: return .terminal(.accept(line))
            case .drop: return .terminal(.drop(line))
            case .reject: return .terminal(.reject(line))
            case .returnFromChain: return .returned
            case .dnat(let address, let port): return .terminal(.dnat(address, port: port, line))
            case .snat(let address, let port): return .terminal(.snat(address, port: port, line))
            case .masquerade: return .terminal(.accept(line))
            case .jump(let target):
                if case .terminal(let result) = walkChain(
                    table: table, chain: target, packet: packet, depth: depth + 1)
                {
                    return .terminal(result)
                }
            }
        }
        return .returned
    }

    private func matches(_ rule: NetfilterRule, _ packet: Packet) -> Bool {
        if let match = rule.source, !match.matches(packet.source) { return false }
        if let match = rule.destination, !match.matches(packet.destination) { return false }
        if let match = rule.ipProtocol, !match.matches(packet.ipProtocol) { return false }
        if rule.icmpType != nil { return false }
        if let match = rule.sourcePorts, !match.matches(packet.sourcePort) { return false }
        if let match = rule.destinationPorts, !match.matches(packet.destinationPort) {
            return false
        }
        if let match = rule.inInterface, !match.matches(packet.inInterface) { return false }
        if let match = rule.outInterface, !match.matches(packet.outInterface) { return false }
        if let match = rule.states, !match.matches(packet.state) { return false }
        return true
    }
}
