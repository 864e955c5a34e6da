import InlineLBCore

/// Walks packets through an iptables ruleset: rules in order, jumps into user chains,
/// RETURN or falling off a user chain back to the caller, built-in chains ending in their
/// policy (REFERENCE.md §6).
struct NetfilterEngine: Sendable {
    let ruleset: IptablesRuleset

    /// The tables each hook runs, in kernel order (`nat` only for the first packet of a
    /// connection; the caller decides).
    static let hookTables: [String: [String]] = [
        "PREROUTING": ["raw", "mangle", "nat"],
        "INPUT": ["mangle", "filter", "nat"],
        "FORWARD": ["mangle", "filter"],
        "OUTPUT": ["raw", "mangle", "nat", "filter"],
        "POSTROUTING": ["mangle", "nat"],
    ]

    /// Runs `hook` over the tables present. Returns the final decision and the NAT applied.
    func run(hook: String, packet: Packet, includeNAT: Bool) -> (
        ChainResult, [(table: String, result: ChainResult)]
    ) {
        var steps: [(String, ChainResult)] = []
        var decision = ChainResult.accept(nil)
        for table in NetfilterEngine.hookTables[hook]! where table != "nat" || includeNAT {
            guard ruleset.chain(table, hook) != nil else { continue }
            let result = walk(table: table, chain: hook, packet: packet, depth: 0)
            steps.append((table, result))
            switch result {
            case .drop, .reject: return (result, steps)
            case .dnat, .snat: decision = result
            case .accept: if table != "nat" { decision = result }
            }
        }
        return (decision, steps)
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
        guard depth < 64, let chain = ruleset.chain(table, name) else { return .returned }
        for rule in chain.rules where matches(rule, packet) {
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
