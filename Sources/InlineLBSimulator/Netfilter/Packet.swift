import InlineLBCore

/// A TCP packet as netfilter sees it at one hook (the simulator sends only TCP).
public struct Packet: Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var sourcePort: Int
    public var destinationPort: Int
    public var inInterface: String?
    public var outInterface: String?
    public var state: ConnectionState
}

/// The result of walking one chain.
enum ChainResult {
    case accept(SourceLine?)
    case drop(SourceLine?)
    case reject(SourceLine)
    case dnat(IPv4Address, port: Int?, SourceLine)
    case snat(IPv4Address, port: Int?, SourceLine)
}
