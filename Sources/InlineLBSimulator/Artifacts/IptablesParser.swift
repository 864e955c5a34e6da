import InlineLBCore

/// Parses iptables-save text. Every option outside the modelled set (REFERENCE.md §6) is an
/// error naming the file and line.
public enum IptablesParser {
    /// Parses `text` read from `file`.
    public static func parse(_ text: String, file: String) throws(ArtifactError) -> IptablesRuleset
    {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses the UTF-8 `bytes` of `file`.
    public static func parse(bytes: [UInt8], file: String) throws(ArtifactError)
        -> IptablesRuleset
    {
        var ruleset = IptablesRuleset(file: file)
        var current: NetfilterTable?
        for (index, rawLine) in bytes.split(
            separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false
        ).enumerated() {
            let lineNumber = index + 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            func fail(_ message: String) -> ArtifactError {
                ArtifactError(file: file, line: lineNumber, message)
            }
            if line.first == UInt8(ascii: "*") {
                guard current == nil else {
                    throw fail("table \(text(line)) starts before COMMIT of the previous one")
                }
                let name = text(line.dropFirst())
                guard ["filter", "nat", "mangle", "raw"].contains(name) else {
                    throw fail("unmodelled table \(name)")
                }
                current = ruleset.tables[name] ?? NetfilterTable(name: name)
            } else if line.elementsEqual("COMMIT".utf8) {
                guard let table = current else { throw fail("COMMIT outside a table") }
                ruleset.tables[table.name] = table
                current = nil
            } else if line.first == UInt8(ascii: ":") {
                guard current != nil else { throw fail("chain declared outside a table") }
                let parts = line.dropFirst().split(separator: UInt8(ascii: " ")).map(text)
                guard parts.count >= 2 else { throw fail("malformed chain line") }
                let name = parts[0]
                let policy: NetfilterVerdict?
                switch parts[1] {
                case "-": policy = nil
                case "ACCEPT": policy = .accept
                case "DROP": policy = .drop
                default: throw fail("unmodelled chain policy \(parts[1])")
                }
                current!.chains[name] = NetfilterChain(name: name, policy: policy, line: lineNumber)
            } else if line.starts(with: "-A ".utf8) {
                guard current != nil else { throw fail("rule outside a table") }
                let tokens = try tokenize(line, fail)
                let chain = tokens[1]
                guard current!.chains[chain] != nil else {
                    throw fail("rule appended to undeclared chain \(chain)")
                }
                let rule = try parseRule(Array(tokens.dropFirst(2)), line: lineNumber, fail)
                current!.chains[chain]!.rules.append(rule)
            } else {
                throw fail("unmodelled line: \(text(line))")
            }
        }
        if current != nil {
            throw ArtifactError(file: file, line: 0, "missing COMMIT at end of file")
        }
        for table in ruleset.tables.values {
            for chain in table.chains.values {
                for rule in chain.rules {
                    if case .jump(let target) = rule.target, table.chains[target] == nil {
                        throw ArtifactError(
                            file: file, line: rule.line, "jump to undeclared chain \(target)")
                    }
                }
            }
        }
        return ruleset
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// `line` without leading and trailing spaces, tabs and carriage returns.
    private static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isBlank(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
        }
        guard let first = line.firstIndex(where: { !isBlank($0) }) else { return [] }
        let last = line.lastIndex(where: { !isBlank($0) })!
        return line[first...last]
    }

    /// Splits a rule line into words at spaces; double quotes keep spaces inside a word.
    /// Words without quotes become strings straight from the line's bytes.
    static func tokenize(_ line: ArraySlice<UInt8>, _ fail: (String) -> ArtifactError)
        throws(ArtifactError) -> [String]
    {
        let space = UInt8(ascii: " ")
        let quote = UInt8(ascii: "\"")
        var tokens: [String] = []
        var position = line.startIndex
        while position < line.endIndex {
            if line[position] == space {
                position += 1
                continue
            }
            let start = position
            var quotes = false
            var quoted = false
            while position < line.endIndex && (quoted || line[position] != space) {
                if line[position] == quote {
                    quotes = true
                    quoted.toggle()
                }
                position += 1
            }
            if quoted { throw fail("unterminated quote") }
            let word = line[start..<position]
            if quotes {
                tokens.append(String(decoding: word.filter { $0 != quote }, as: UTF8.self))
            } else {
                tokens.append(String(decoding: word, as: UTF8.self))
            }
        }
        return tokens
    }

    private static func parseRule(
        _ tokens: [String], line: Int, _ fail: (String) -> ArtifactError
    ) throws(ArtifactError) -> NetfilterRule {
        var rule = NetfilterRule(line: line, target: .accept)
        var target: String?
        var toDestination: String?
        var toSource: String?
        var index = 0
        var negate = false
        func value() throws(ArtifactError) -> String {
            index += 1
            guard index < tokens.count else {
                throw fail("option \(tokens[index - 1]) needs a value")
            }
            return tokens[index]
        }
        while index < tokens.count {
            let token = tokens[index]
            if token == "!" {
                negate = true
                index += 1
                continue
            }
            var negated = negate
            negate = false
            switch token {
            case "-s", "--source", "-d", "--destination":
                var text = try value()
                if text == "!" {
                    negated = true
                    text = try value()
                }
                guard let network = IPv4Network(text, allowHostBits: true) else {
                    throw fail("bad address \(text)")
                }
                let match = AddressMatch(network: network, negated: negated)
                if token.hasPrefix("-s") || token == "--source" {
                    rule.source = match
                } else {
                    rule.destination = match
                }
            case "-p", "--protocol":
                let name = try value()
                guard ["tcp", "udp", "icmp", "all"].contains(name) else {
                    throw fail("unmodelled protocol \(name)")
                }
                rule.ipProtocol = ProtocolMatch(name: name, negated: negated)
            case "-i", "--in-interface":
                rule.inInterface = InterfaceMatch(name: try value(), negated: negated)
            case "-o", "--out-interface":
                rule.outInterface = InterfaceMatch(name: try value(), negated: negated)
            case "-m", "--match":
                let module = try value()
                guard ["tcp", "udp", "icmp", "state", "conntrack", "comment"].contains(module)
                else {
                    throw fail("unmodelled match module \(module)")
                }
            case "--sport", "--source-port", "--dport", "--destination-port":
                let text = try value()
                guard let range = portRange(text) else { throw fail("bad port \(text)") }
                let match = PortMatch(range: range, negated: negated)
                if token == "--sport" || token == "--source-port" {
                    rule.sourcePorts = match
                } else {
                    rule.destinationPorts = match
                }
            case "--state", "--ctstate":
                var states = Set<ConnectionState>()
                for name in try value().split(separator: ",") {
                    guard let state = ConnectionState(rawValue: String(name)) else {
                        throw fail("unmodelled state \(name)")
                    }
                    states.insert(state)
                }
                rule.states = StateMatch(states: states, negated: negated)
            case "--icmp-type":
                rule.icmpType = try value()
            case "--comment":
                _ = try value()
            case "-j", "--jump":
                target = try value()
            case "--to-destination":
                toDestination = try value()
            case "--to-source":
                toSource = try value()
            case "--reject-with":
                _ = try value()
            default:
                throw fail("unmodelled option \(token)")
            }
            index += 1
        }
        guard let target else { throw fail("rule without -j target") }
        switch target {
        case "ACCEPT": rule.target = .accept
        case "DROP": rule.target = .drop
        case "REJECT": rule.target = .reject
        case "RETURN": rule.target = .returnFromChain
        case "MASQUERADE": rule.target = .masquerade
        case "DNAT", "SNAT":
            guard let text = target == "DNAT" ? toDestination : toSource else {
                throw fail("\(target) without --to-\(target == "DNAT" ? "destination" : "source")")
            }
            let parts = text.split(separator: ":")
            guard let address = IPv4Address(parts[0]) else {
                throw fail("bad \(target) address \(text)")
            }
            var port: Int?
            if parts.count == 2 {
                guard let parsed = Int(parts[1]), (1...65535).contains(parsed) else {
                    throw fail("bad \(target) port \(text)")
                }
                port = parsed
            }
            rule.target = target == "DNAT" ? .dnat(address, port: port) : .snat(address, port: port)
        default:
            guard
                target.first?.isUppercase == true || target.contains("_")
                    || target.first?.isLetter == true
            else {
                throw fail("bad target \(target)")
            }
            if ["LOG", "MARK", "CONNMARK", "TCPMSS", "NOTRACK", "CT"].contains(target) {
                throw fail("unmodelled target \(target)")
            }
            rule.target = .jump(target)
        }
        return rule
    }

    private static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let low = Int(parts[0]), (0...65535).contains(low)
        else { return nil }
        let high = parts.count == 2 ? Int(parts[1]) : low
        guard let high, high >= low, high <= 65535 else { return nil }
        return low...high
    }
}
