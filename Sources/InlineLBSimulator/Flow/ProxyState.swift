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

/// A frontend's connection rules, prepared once for every flow it takes.
final class FrontendRules {
    /// One `tcp-request connection reject if [!]acl`: the ACL's source networks.
    struct Reject {
        let networks: [IPv4Network]
        let negated: Bool
        let line: SourceLine
    }

    let proxy: SimulatedDeployment.Proxy
    let rejects: [Reject]
    /// Whether it serves HAProxy's stats page rather than a backend.
    let isStats: Bool
    /// The backend's number across the deployment (``SimulatedDeployment/firstProxyNumber``).
    let backend: Int

    init(_ proxy: SimulatedDeployment.Proxy, backend: Int) {
        self.proxy = proxy
        rejects = proxy.section.connectionRejects.map { reject in
            Reject(
                networks: proxy.section.sourceACLs[reject.acl] ?? [], negated: reject.negated,
                line: proxy.sourceLine(reject.line))
        }
        isStats = proxy.section.isStats
        self.backend = backend
    }

    /// The first reject rule that refuses a connection from `source`, if any.
    func rejection(of source: IPv4Address) -> Reject? {
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
        // The running VM at each server's address, looked up once.
        let vms = section.servers.map { server -> Topology.VirtualMachine? in
            if case .virtualMachine(let vm) = hosts[server.address] { return vm }
            return nil
        }
        usable = zip(section.servers, vms).map { server, vm in
            !server.disabled && (!server.check || vm != nil)
        }
        var reach: [Reach] = []
        reach.reserveCapacity(section.servers.count)
        for (server, vm) in zip(section.servers, vms) {
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
