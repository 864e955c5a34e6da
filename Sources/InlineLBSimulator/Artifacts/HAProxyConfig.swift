import InlineLBCore

/// A parsed `haproxy.cfg`: the proxies (listen, frontend, backend sections) in file order.
public struct HAProxyConfig: Sendable {
    public var file: String
    public var proxies: [HAProxyProxy]
}

/// One proxy section.
public struct HAProxyProxy: Sendable {
    public enum Kind: String, Sendable { case listen, frontend, backend }
    public enum Mode: String, Sendable { case tcp, http }
    public enum Algorithm: String, Sendable {
        case roundrobin
        case staticRoundRobin = "static-rr"
        case leastconn, source
    }

    public struct Bind: Sendable {
        /// nil binds every address.
        public var address: IPv4Address?
        public var port: Int
        public var line: Int
    }

    public struct Server: Sendable {
        public var name: String
        public var address: IPv4Address
        public var port: Int
        public var weight = 1
        public var check = false
        public var cookie: String?
        public var sendProxy = false
        public var disabled = false
        public var backup = false
        public var line: Int
    }

    public struct Cookie: Sendable {
        public var name: String
        public var mode: String
        public var indirect = false
        public var nocache = false
        public var postonly = false
        public var line: Int
    }

    public struct StickTable: Sendable {
        public var type: String
        public var line: Int
    }

    public var kind: Kind
    public var name: String
    public var line: Int
    public var binds: [Bind] = []
    public var mode: Mode
    public var algorithm: Algorithm = .roundrobin
    public var balanceLine: Int?
    public var consistentHash = false
    public var servers: [Server] = []
    public var cookie: Cookie?
    public var stickTable: StickTable?
    /// `stick on src` line.
    public var stickOnSource: Int?
    /// Request cookies matched against the stick table (`stick match req.cook(name)`).
    public var stickMatchCookies: [String] = []
    /// URL parameters matched against the stick table (`stick match urlp(name)`).
    public var stickMatchURLParameters: [String] = []
    /// Response cookie learnt into the stick table (`stick store-response res.cook(name)`).
    public var stickStoreResponseCookie: String?
    /// Request cookie learnt into the stick table (`stick store-request req.cook(name)`).
    public var stickStoreRequestCookie: String?
    /// `acl <name> src <cidrs>`.
    public var sourceACLs: [String: [IPv4Network]] = [:]
    /// `tcp-request connection reject if [!]<acl>`.
    public var connectionRejects: [(acl: String, negated: Bool, line: Int)] = []
    public var httpCheckPath: String?
    public var defaultBackend: String?
    public var isStats = false
}
