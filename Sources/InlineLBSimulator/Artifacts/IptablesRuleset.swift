import InlineLBCore

/// An iptables-save file: tables of chains of rules.
public struct IptablesRuleset: Sendable {
    /// The tables by name (`filter`, `nat`, `mangle`, `raw`).
    public var tables: [String: NetfilterTable] = [:]
    /// The file the rules came from.
    public var file: String

    /// The chain `chain` of `table`, if declared.
    public func chain(_ table: String, _ chain: String) -> NetfilterChain? {
        tables[table]?.chains[chain]
    }
}

/// One table.
public struct NetfilterTable: Sendable {
    public var name: String
    public var chains: [String: NetfilterChain] = [:]
}

/// One chain: built-in chains have a policy, user chains none.
public struct NetfilterChain: Sendable {
    public var name: String
    public var policy: NetfilterVerdict?
    public var line: Int
    public var rules: [NetfilterRule] = []
}

/// A terminal verdict.
public enum NetfilterVerdict: String, Sendable {
    case accept = "ACCEPT"
    case drop = "DROP"
}

/// One `-A` rule.
public struct NetfilterRule: Sendable {
    public var line: Int
    public var source: AddressMatch?
    public var destination: AddressMatch?
    public var ipProtocol: ProtocolMatch?
    public var sourcePorts: PortMatch?
    public var destinationPorts: PortMatch?
    public var inInterface: InterfaceMatch?
    public var outInterface: InterfaceMatch?
    public var states: StateMatch?
    public var icmpType: String?
    public var target: NetfilterTarget
}

/// `[!] -s/-d address[/prefix]`.
public struct AddressMatch: Sendable {
    public var network: IPv4Network
    public var negated: Bool

    public func matches(_ address: IPv4Address) -> Bool { network.contains(address) != negated }
}

/// `[!] -p name`.
public struct ProtocolMatch: Sendable {
    public var name: String
    public var negated: Bool

    public func matches(_ name: String) -> Bool {
        (self.name == "all" || self.name == name) != negated
    }
}

/// `[!] --sport/--dport p[:q]`.
public struct PortMatch: Sendable {
    public var range: ClosedRange<Int>
    public var negated: Bool

    public func matches(_ port: Int) -> Bool { range.contains(port) != negated }
}

/// `[!] -i/-o name`, a trailing `+` matching any suffix.
public struct InterfaceMatch: Sendable {
    public var name: String
    public var negated: Bool

    public func matches(_ interface: String?) -> Bool {
        guard let interface else { return negated }
        // Compared as bytes: interface names are ASCII, and this runs for every packet.
        let hit =
            name.utf8.last == UInt8(ascii: "+")
            ? interface.utf8.starts(with: name.utf8.dropLast()) : interface == name
        return hit != negated
    }
}

/// Connection-tracking states of `-m state --state` or `-m conntrack --ctstate`.
public struct StateMatch: Sendable {
    public var states: Set<ConnectionState>
    public var negated: Bool

    public func matches(_ state: ConnectionState) -> Bool { states.contains(state) != negated }
}

/// A packet's conntrack state.
public enum ConnectionState: String, Sendable, Hashable {
    case new = "NEW"
    case established = "ESTABLISHED"
    case related = "RELATED"
    case invalid = "INVALID"
    case untracked = "UNTRACKED"
}

/// What a matching rule does.
public enum NetfilterTarget: Sendable {
    case accept
    case drop
    case reject
    case returnFromChain
    case jump(String)
    case dnat(IPv4Address, port: Int?)
    case snat(IPv4Address, port: Int?)
    case masquerade
}
