import InlineLBCore

/// Cookie names and values as numbers, so that jars and stick tables hash integers rather
/// than strings on every flow.
struct CookieStrings {
    private var numbers: [String: Int] = [:]
    /// The strings by number.
    private(set) var strings: [String] = []

    /// The number of `string`, given on first sight.
    mutating func number(_ string: String) -> Int {
        if let number = numbers[string] { return number }
        numbers[string] = strings.count
        strings.append(string)
        return strings.count - 1
    }
}

/// The cookies each client holds, one jar per client and target address and port, with
/// names and values numbered (``CookieStrings``).
///
/// Looked up on every HTTP flow to a backend that reads cookies, so without `Hasher` and
/// without an allocation per jar: targets are numbered, a jar is found by its client and
/// target number, and its cookies are a chain in one shared array.
struct CookieJars {
    /// One client's jar for one target, as found before the flow: read and fill it through
    /// ``value(of:in:)`` and ``set(_:of:in:)``.
    struct Jar {
        fileprivate let client: UInt32
        /// The target address and port, as `address << 16 | port`.
        fileprivate let target: UInt64
        /// The jar's most recently added cookie in ``CookieJars/cookies``; -1 when empty.
        fileprivate var newest: Int
    }

    private struct Cookie {
        var name: Int
        var value: Int
        /// The jar's cookie added before this one; -1 for none.
        var older: Int
    }

    /// The number of each target (`address << 16 | port`) that has a jar.
    private var targetNumbers = UInt64Map<UInt32>()
    /// Each jar's newest cookie, by `client << 32 | target number`.
    private var newestCookie = UInt64Map<Int>()
    private var cookies: [Cookie] = []

    /// The jar `client` holds for `target`:`port` (a port from 0 to 65535).
    func jar(client: IPv4Address, target: IPv4Address, port: Int) -> Jar {
        let targetWord = UInt64(target.value) << 16 | UInt64(UInt16(port))
        let newest = targetNumbers[targetWord].flatMap {
            newestCookie[UInt64(client.value) << 32 | UInt64($0)]
        }
        return Jar(client: client.value, target: targetWord, newest: newest ?? -1)
    }

    /// The value of the cookie called `name` in `jar`, if it holds one.
    func value(of name: Int, in jar: Jar) -> Int? {
        var index = jar.newest
        while index >= 0 {
            if cookies[index].name == name { return cookies[index].value }
            index = cookies[index].older
        }
        return nil
    }

    /// Puts cookie `name` with `value` into `jar`, replacing any value it had.
    mutating func set(_ value: Int, of name: Int, in jar: inout Jar) {
        var index = jar.newest
        while index >= 0 {
            if cookies[index].name == name {
                cookies[index].value = value
                return
            }
            index = cookies[index].older
        }
        cookies.append(Cookie(name: name, value: value, older: jar.newest))
        jar.newest = cookies.count - 1
        let number: UInt32
        if let known = targetNumbers[jar.target] {
            number = known
        } else {
            number = UInt32(targetNumbers.count)
            targetNumbers.set(number, for: jar.target)
        }
        newestCookie.set(jar.newest, for: UInt64(jar.client) << 32 | UInt64(number))
    }
}

/// A frontend's connection rules, prepared on its first connection for every flow it takes
/// (a value, read in place in the engine's table).
struct FrontendRules {
    /// One `tcp-request connection reject if [!]acl`: the ACL's source networks.
    struct Reject {
        let networks: [IPv4Network]
        let negated: Bool
        let line: SourceLine
    }

    let rejects: [Reject]
    /// Whether it serves HAProxy's stats page rather than a backend.
    let isStats: Bool
    /// The backend's number across the deployment (``SimulatedDeployment/firstProxyNumber``).
    let backend: Int
    /// The number of its `frontend`/`listen` line among the listener lines of a run, plus
    /// one (``FlowRecord/listener``).
    let listener: UInt32

    init(_ proxy: SimulatedDeployment.Proxy, backend: Int, listener: UInt32) {
        rejects = proxy.section.connectionRejects.map { reject in
            Reject(
                networks: proxy.section.sourceACLs[reject.acl] ?? [], negated: reject.negated,
                line: proxy.sourceLine(reject.line))
        }
        isStats = proxy.section.isStats
        self.backend = backend
        self.listener = listener
    }

    /// The first reject rule that refuses a connection from `source`, if any. (Most
    /// frontends have none: that test is inlined into the caller.)
    @inline(__always) func rejection(of source: IPv4Address) -> Reject? {
        rejects.isEmpty ? nil : firstRejection(of: source)
    }

    private func firstRejection(of source: IPv4Address) -> Reject? {
        rejects.first { reject in
            reject.networks.contains { $0.contains(source) } != reject.negated
        }
    }
}

/// A backend's servers and persistence settings, prepared once: what a connection from the
/// appliance to each server meets, and cookies by number.
final class BackendRules {
    /// What a connection from the appliance to a server meets.
    enum Reach {
        /// It fails: the appliance's OUTPUT chain drops it, or no running VM holds the
        /// server's address. The flow's outcome, and the hop saying why.
        case fails(Outcome, Hop)
        /// A VM accepts it: the flow's outcome, and the VM's id as the application cookie
        /// the backend learns (numbered), when it learns one.
        case answers(Outcome, cookie: Int?)
    }

    let proxy: SimulatedDeployment.Proxy
    /// The servers, in declaration order.
    let servers: [HAProxyProxy.Server]
    /// Whether each server can take traffic: fixed for a run, as VM states come from the
    /// artifacts.
    let usable: [Bool]
    /// By server, in declaration order.
    let reach: [Reach]
    /// HTTP mode: the only one where cookies matter.
    let isHTTP: Bool
    /// The inserted cookie's name, numbered, each server's value, and the `cookie` line.
    let insertedCookie: (name: Int, values: [Int?], line: SourceLine)?
    /// The `stick on src` line, if the backend sticks on source addresses.
    let stickOnSource: SourceLine?
    /// Request cookies matched against the stick table, numbered.
    let stickMatchCookies: [Int]
    /// The response cookie learnt into the stick table, numbered.
    let storedResponseCookie: Int?
    /// Whether clients' cookies matter to it at all: HTTP mode with an inserted cookie or a
    /// cookie stick table.
    var readsCookies: Bool {
        isHTTP
            && (insertedCookie != nil || !stickMatchCookies.isEmpty
                || storedResponseCookie != nil)
    }

    init(
        _ proxy: SimulatedDeployment.Proxy, of appliance: SimulatedDeployment.Appliance,
        in deployment: SimulatedDeployment, cookies: inout CookieStrings
    ) {
        self.proxy = proxy
        let section = proxy.section
        servers = section.servers
        let hosts = deployment.hosts[appliance.vpcIndex][appliance.tierIndex]
        var usable: [Bool] = []
        var reach: [Reach] = []
        usable.reserveCapacity(section.servers.count)
        reach.reserveCapacity(section.servers.count)
        for server in section.servers {
            // The running VM at the server's address.
            var vm: Topology.VirtualMachine?
            if case .virtualMachine(let running) = hosts[server.address] { vm = running }
            usable.append(!server.disabled && (!server.check || vm != nil))
            let packet = Packet(
                source: appliance.addresses.guestIP, destination: server.address,
                sourcePort: 40000, destinationPort: server.port,
                inInterface: nil, outInterface: "eth0", state: .new)
            let output = appliance.netfilter.run(hook: .output, packet: packet, includeNAT: true)
            let node = appliance.traceName
            if case .drop(let line) = output.verdict {
                reach.append(
                    .fails(
                        .failed(
                            "connection to server \(server.name) dropped at \(node) filter OUTPUT"),
                        Hop(
                            node: node, step: "filter OUTPUT",
                            decision: "DROP to \(server.address):\(server.port)", source: line)))
            } else if let vm {
                let outcome = Outcome.delivered(
                    vm: vm.id, address: server.address, port: server.port, server: server.name)
                let cookie = section.stickStoreResponseCookie.map { _ in cookies.number(vm.id) }
                reach.append(.answers(outcome, cookie: cookie))
            } else {
                let line = proxy.sourceLine(server.line)
                reach.append(
                    .fails(
                        .failed("server \(server.name) (\(line)) does not answer"),
                        Hop(
                            node: node, step: "haproxy",
                            decision:
                                "server \(server.name) \(server.address):\(server.port) does not answer",
                            source: line)))
            }
        }
        self.usable = usable
        self.reach = reach
        isHTTP = section.mode == .http
        if let cookie = section.cookie {
            insertedCookie = (
                cookies.number(cookie.name),
                section.servers.map { server in server.cookie.map { cookies.number($0) } },
                proxy.sourceLine(cookie.line)
            )
        } else {
            insertedCookie = nil
        }
        stickOnSource = section.stickOnSource.map(proxy.sourceLine)
        stickMatchCookies = section.stickMatchCookies.map { cookies.number($0) }
        storedResponseCookie = section.stickStoreResponseCookie.map { cookies.number($0) }
    }
}

/// One backend's state in a run: its servers' outcomes, its balancer and its stick tables.
struct BackendState {
    let rules: BackendRules
    /// By server: the number of the flow's outcome when it connects there, and whether a
    /// VM answers (``BackendRules/Reach``).
    let connections: [(outcome: UInt32, answers: Bool)]
    var balancer: Balancer
    /// `stick on src`: the server of each source address.
    var stickBySource = UInt64Map<Int>()
    /// Stick-table entries learnt from cookies: the server of each numbered value.
    var stickByValue = UInt64Map<Int>()

    init(_ rules: BackendRules, outcomes: inout OutcomeNumbers) {
        self.rules = rules
        connections = rules.reach.map { reach in
            switch reach {
            case .fails(let outcome, _): (outcomes.add(outcome), false)
            case .answers(let outcome, _): (outcomes.add(outcome), true)
            }
        }
        balancer = Balancer(proxy: rules.proxy.section, usable: rules.usable)
    }
}
