import InlineLBCore

/// One client connection to a public address and port.
public struct Flow: Sendable {
    /// Position in the traffic, from 0.
    public var id: Int
    public var client: IPv4Address
    public var clientPort: Int
    public var target: IPv4Address
    public var port: Int
    /// Whether the client sends back cookies it received earlier (HTTP).
    public var returnsCookies: Bool
    /// Connections of one batch are held open together (leastconn sees them in flight);
    /// all close when the batch ends.
    public var batch: Int

    public init(
        id: Int, client: IPv4Address, clientPort: Int, target: IPv4Address, port: Int,
        returnsCookies: Bool = true, batch: Int
    ) {
        self.id = id
        self.client = client
        self.clientPort = clientPort
        self.target = target
        self.port = port
        self.returnsCookies = returnsCookies
        self.batch = batch
    }
}

/// One step of a flow's path: where, what, and the artifact line that decided it.
public struct Hop: Sendable, CustomStringConvertible {
    public var node: String
    public var step: String
    public var decision: String
    public var source: SourceLine?

    public var description: String {
        "\(node) \(step): \(decision)" + (source.map { " [\($0)]" } ?? "")
    }
}

/// How a flow ended.
public enum Outcome: Sendable, Hashable, CustomStringConvertible {
    /// A VM accepted the connection (through HAProxy server `server`, or directly by static NAT).
    case delivered(vm: String, address: IPv4Address, port: Int, server: String?)
    /// The client got a reset or rejection.
    case refused(String)
    /// Packets vanished.
    case dropped(String)
    /// HAProxy accepted but no server could take it (503 / closed).
    case failed(String)

    public var deliveredVM: String? {
        if case .delivered(let vm, _, _, _) = self { return vm }
        return nil
    }

    public var description: String {
        switch self {
        case .delivered(let vm, let address, let port, let server):
            "delivered to \(vm) at \(address):\(port)" + (server.map { " via \($0)" } ?? "")
        case .refused(let why): "refused: \(why)"
        case .dropped(let why): "dropped: \(why)"
        case .failed(let why): "failed: \(why)"
        }
    }
}

/// A simulated flow: its outcome, the address the client saw replies from, and every hop
/// (``FlowResults`` holds a run's results compactly and gives each as one of these).
public struct FlowResult: Sendable {
    public var flow: Flow
    public var outcome: Outcome
    /// The source of the replies as the client sees them.
    public var replyFrom: (address: IPv4Address, port: Int)?
    /// The HAProxy listener that served it (the line of its section), when any.
    public var listener: SourceLine?
    /// Whether persistence (cookie or stick table) chose the server instead of the balancer.
    public var persisted: Bool
    public var hops: [Hop]
}
