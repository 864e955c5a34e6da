import InlineLBCore

/// What a deployment should do, stated from the corpus's intent (never from the planner's
/// decisions): which public address and port should reach which VMs.
public struct Expectations: Sendable {
    /// One assigned VM of a rule.
    public struct Backend: Sendable {
        public var vmID: String
        public var address: IPv4Address
        public var port: Int
        public var running: Bool

        public init(vmID: String, address: IPv4Address, port: Int, running: Bool) {
            self.vmID = vmID
            self.address = address
            self.port = port
            self.running = running
        }
    }

    /// A tier's ingress network ACL: items in number order, first match decides, default deny.
    public struct IngressACL: Sendable {
        public struct Item: Sendable {
            public var allow: Bool
            /// nil matches every protocol.
            public var tcpOnly: Bool?
            public var ports: ClosedRange<Int>?
            public var sources: [IPv4Network]

            public init(
                allow: Bool, tcpOnly: Bool?, ports: ClosedRange<Int>?, sources: [IPv4Network]
            ) {
                self.allow = allow
                self.tcpOnly = tcpOnly
                self.ports = ports
                self.sources = sources
            }
        }

        public var items: [Item]

        public init(items: [Item]) { self.items = items }

        /// Whether a TCP connection from `client` to `port` passes.
        public func admits(_ client: IPv4Address, port: Int) -> Bool {
            for item in items {
                if let tcpOnly = item.tcpOnly, !tcpOnly { continue }
                if let ports = item.ports, !ports.contains(port) { continue }
                guard item.sources.contains(where: { $0.contains(client) }) else { continue }
                return item.allow
            }
            return false
        }
    }

    /// A live rule with destination VMs: the public side and the VMs behind it.
    public struct Listener: Sendable {
        public var ruleID: String
        public var publicIP: IPv4Address
        public var publicPort: Int
        public var algorithm: String
        /// `LbCookie`, `AppCookie`, `SourceBased` or nil.
        public var stickiness: String?
        public var backends: [Backend] {
            didSet { runningBackends = backends.filter(\.running) }
        }
        /// The VMs that can take traffic, in rule order (kept with ``backends``: the verifier
        /// asks for them on every flow).
        public private(set) var runningBackends: [Backend]
        public var allowedClients: [IPv4Network]
        public var acl: IngressACL
        public var applianceRunning: Bool

        public init(
            ruleID: String, publicIP: IPv4Address, publicPort: Int, algorithm: String,
            stickiness: String?,
            backends: [Backend], allowedClients: [IPv4Network], acl: IngressACL,
            applianceRunning: Bool
        ) {
            self.ruleID = ruleID
            self.publicIP = publicIP
            self.publicPort = publicPort
            self.algorithm = algorithm
            self.stickiness = stickiness
            self.backends = backends
            runningBackends = backends.filter(\.running)
            self.allowedClients = allowedClients
            self.acl = acl
            self.applianceRunning = applianceRunning
        }

        /// Whether a connection from `client` should be delivered.
        public func delivers(to client: IPv4Address) -> Bool {
            applianceRunning && acl.admits(client, port: publicPort) && !runningBackends.isEmpty
                && (allowedClients.isEmpty || allowedClients.contains { $0.contains(client) })
        }
    }

    /// A public IP statically NATed to a VM.
    public struct StaticNAT: Sendable {
        public var publicIP: IPv4Address
        public var backend: Backend
        public var acl: IngressACL

        public init(publicIP: IPv4Address, backend: Backend, acl: IngressACL) {
            self.publicIP = publicIP
            self.backend = backend
            self.acl = acl
        }
    }

    public var listeners: [Listener]
    public var staticNATs: [StaticNAT]
    /// Public address and port pairs the corpus mentions that must receive nothing
    /// (revoked rules, rules without VMs), probed in addition to the default traffic.
    public var silentTargets: [(IPv4Address, Int)]

    public init(listeners: [Listener], staticNATs: [StaticNAT], silentTargets: [(IPv4Address, Int)])
    {
        self.listeners = listeners
        self.staticNATs = staticNATs
        self.silentTargets = silentTargets
    }

    /// Every address and port worth probing: each listener and silent target, and each
    /// public address on every listener port (so that nothing leaks across addresses).
    public var probeTargets: [(IPv4Address, Int)] {
        let ports = Set(listeners.map(\.publicPort) + silentTargets.map(\.1))
        let addresses = Set(
            listeners.map(\.publicIP) + staticNATs.map(\.publicIP) + silentTargets.map(\.0))
        var targets = listeners.map { ($0.publicIP, $0.publicPort) } + silentTargets
        let sortedPorts = ports.sorted()
        for address in addresses.sorted() {
            for port in sortedPorts { targets.append((address, port)) }
        }
        return targets
    }
}
