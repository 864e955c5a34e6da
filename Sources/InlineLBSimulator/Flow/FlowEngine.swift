import Foundation
import InlineLBCore

/// Simulates flows end to end over a loaded deployment, keeping HAProxy's balancing and
/// persistence state and each client's cookies across flows.
public struct FlowEngine {
    private let deployment: SimulatedDeployment
    /// One client's cookies for one public address and port.
    private struct JarKey: Hashable {
        var client: IPv4Address
        var target: IPv4Address
        var port: Int
    }

    /// Balancing state by backend, numbered as ``SimulatedDeployment/firstProxyNumber`` says;
    /// nil until the backend's first connection.
    private var balancers: [Balancer?]
    private var stickBySource: [Int: [IPv4Address: Int]] = [:]
    private var stickByValue: [Int: [String: Int]] = [:]
    /// Cookies each client holds, per target address and port.
    private var cookieJars: [JarKey: [String: String]] = [:]
    private var openConnections: [(backend: Int, server: Int)] = []
    private var currentBatch = -1

    /// Flows at positions below this carry their hop-by-hop trace.
    private let tracedFlows: Int
    /// Whether the flow being simulated records its trace.
    private var recordsTraces = true

    /// An engine over `deployment`. Only the first `tracedFlows` flows of a run carry hops
    /// (outcomes, replies and persistence are the same without), which is much cheaper.
    public init(deployment: SimulatedDeployment, tracedFlows: Int = .max) {
        self.deployment = deployment
        self.tracedFlows = tracedFlows
        balancers = Array(repeating: nil, count: deployment.firstProxyNumber.last ?? 0)
    }

    /// Simulates `flows` in order.
    public mutating func run(_ flows: [Flow]) -> [FlowResult] {
        run(flows, positions: Array(flows.indices))
    }

    /// Simulates `flows` in order; `positions` are their places in the whole run. Connections
    /// still open at the end are closed, as when the next flow starts another batch.
    public mutating func run(_ flows: [Flow], positions: [Int]) -> [FlowResult] {
        var results: [FlowResult] = []
        results.reserveCapacity(flows.count)
        for (flow, position) in zip(flows, positions) {
            if flow.batch != currentBatch {
                closeConnections()
                currentBatch = flow.batch
            }
            recordsTraces = position < tracedFlows
            results.append(simulate(flow))
        }
        closeConnections()
        return results
    }

    /// Simulates `flows` on all cores, with the results of one engine running them in order.
    ///
    /// Each of the ``shards(of:over:)`` runs on its own engine, in order, and the results are
    /// put back in place.
    public static func run(
        _ flows: [Flow], over deployment: SimulatedDeployment, tracedFlows: Int = .max
    ) -> [FlowResult] {
        var parts = shards(of: flows, over: deployment).concurrentMap { positions in
            (positions, run(positions, of: flows, over: deployment, tracedFlows: tracedFlows))
        }
        // Every position belongs to exactly one part: move the parts into place one at a
        // time, so that at most one part's copy is alive beside the whole.
        return [FlowResult](unsafeUninitializedCapacity: flows.count) { buffer, count in
            while let (positions, partResults) = parts.popLast() {
                for (position, result) in zip(positions, partResults) {
                    (buffer.baseAddress! + position).initialize(to: result)
                }
            }
            count = flows.count
        }
    }

    /// The positions of `flows` split into one part per core, each in increasing order.
    ///
    /// Flows are grouped by the VPC router their target reaches (a flow to an address no
    /// router holds goes nowhere): VPCs share no balancer, persistence table or cookie, so
    /// each part can run on its own engine. Routers go to the part with the fewest flows,
    /// busiest router first.
    public static func shards(of flows: [Flow], over deployment: SimulatedDeployment) -> [[Int]] {
        // Router position per flow (the last slot: no router), and flows per router.
        let nowhere = deployment.routers.count
        let routerOfFlow = flows.map { deployment.routerOfPublicAddress[$0.target] ?? nowhere }
        var flowsPerRouter = [Int](repeating: 0, count: nowhere + 1)
        var firstFlow = [Int](repeating: .max, count: nowhere + 1)
        for (position, router) in routerOfFlow.enumerated() {
            flowsPerRouter[router] += 1
            firstFlow[router] = min(firstFlow[router], position)
        }
        let busy = flowsPerRouter.indices.filter { flowsPerRouter[$0] > 0 }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let count = max(1, min(cores, busy.count))
        var shardOfRouter = [Int](repeating: 0, count: nowhere + 1)
        var load = [Int](repeating: 0, count: count)
        for router in busy.sorted(by: {
            (flowsPerRouter[$0], -firstFlow[$0]) > (flowsPerRouter[$1], -firstFlow[$1])
        }) {
            let lightest = load.indices.min { load[$0] < load[$1] }!
            shardOfRouter[router] = lightest
            load[lightest] += flowsPerRouter[router]
        }
        var shards = load.map { capacity in
            var shard: [Int] = []
            shard.reserveCapacity(capacity)
            return shard
        }
        for (position, router) in routerOfFlow.enumerated() {
            shards[shardOfRouter[router]].append(position)
        }
        return shards
    }

    /// Simulates the flows at `positions` (one of the ``shards(of:over:)``) in order, on one
    /// engine; the first `tracedFlows` positions of the whole run carry their traces.
    public static func run(
        _ positions: [Int], of flows: [Flow], over deployment: SimulatedDeployment,
        tracedFlows: Int = .max
    ) -> [FlowResult] {
        var engine = FlowEngine(deployment: deployment, tracedFlows: tracedFlows)
        return engine.run(positions.map { flows[$0] }, positions: positions)
    }

    private mutating func closeConnections() {
        for connection in openConnections {
            balancers[connection.backend]?.release(connection.server)
        }
        openConnections.removeAll()
    }

    private mutating func simulate(_ flow: Flow) -> FlowResult {
        var result = FlowResult(
            flow: flow, outcome: .dropped("not simulated"), persisted: false, hops: [])
        let tracing = recordsTraces
        func hop(
            _ node: @autoclosure () -> String, _ step: String,
            _ decision: @autoclosure () -> String,
            _ source: SourceLine? = nil
        ) {
            guard tracing else { return }
            result.hops.append(Hop(node: node(), step: step, decision: decision(), source: source))
        }
        guard let routerIndex = deployment.routerOfPublicAddress[flow.target] else {
            hop("internet", "routing", "no VPC router holds \(flow.target)")
            result.outcome = .dropped("no VPC router holds \(flow.target)")
            return result
        }
        let router = deployment.routers[routerIndex]
        let node = router.traceName
        var packet = Packet(
            source: flow.client, destination: flow.target, sourcePort: flow.clientPort,
            destinationPort: flow.port,
            inInterface: router.vpc.publicInterface, outInterface: nil, state: .new)

        // PREROUTING: DNAT decided on the first packet.
        let prerouting = router.netfilter.run(
            hook: .prerouting, packet: packet, includeNAT: true)
        switch prerouting {
        case .dnat(let address, let port, let line):
            hop(
                node, "nat PREROUTING",
                "DNAT \(flow.target):\(flow.port) -> \(address):\(port ?? flow.port)", line)
            packet.destination = address
            if let port { packet.destinationPort = port }
        default:
            hop(node, "nat PREROUTING", "no DNAT")
        }

        // Routing on the post-DNAT address.
        if router.ownAddresses.contains(packet.destination) {
            let input = router.netfilter.run(hook: .input, packet: packet, includeNAT: true)
            if let blocked = blocking(input, node: node, step: "filter INPUT") {
                return finish(&result, blocked)
            }
            hop(node, "filter INPUT", "ACCEPT; no service on port \(packet.destinationPort)")
            result.outcome = .refused(
                "\(node) has no service on \(packet.destination):\(packet.destinationPort)")
            return result
        }
        guard
            let tierIndex = router.vpc.tiers.firstIndex(where: {
                $0.cidr.contains(packet.destination)
            })
        else {
            hop(
                node, "routing",
                "\(packet.destination) is in no tier; routed back to the public side")
            result.outcome = .dropped("\(packet.destination) is in no tier of \(router.vpc.id)")
            return result
        }
        let tierInterface = router.vpc.tiers[tierIndex].interface
        packet.outInterface = tierInterface
        hop(
            node, "routing",
            "\(packet.destination) via \(tierInterface) (tier \(router.vpc.tiers[tierIndex].id))")

        let forward = router.netfilter.run(hook: .forward, packet: packet, includeNAT: false)
        if let blocked = blocking(forward, node: node, step: "filter FORWARD") {
            return finish(&result, blocked)
        }
        switch forward {
        case .accept(let line): hop(node, "filter FORWARD", "ACCEPT", line)
        default: break
        }
        let postrouting = router.netfilter.run(
            hook: .postrouting, packet: packet, includeNAT: true)
        var clientSeenByServer = flow.client
        if case .snat(let address, _, let line) = postrouting {
            hop(node, "nat POSTROUTING", "SNAT source -> \(address)", line)
            clientSeenByServer = address
        }

        // Delivery inside the tier.
        guard let host = deployment.hosts[routerIndex][tierIndex][packet.destination] else {
            let tierID = router.vpc.tiers[tierIndex].id
            hop("tier \(tierID)", "delivery", "no running host holds \(packet.destination)")
            result.outcome = .dropped(
                "no running host holds \(packet.destination) in tier \(tierID)")
            return result
        }
        let delivered: Outcome
        switch host {
        case .virtualMachine(let vm):
            hop(
                "vm \(vm.id)", "accept",
                "connection on \(packet.destination):\(packet.destinationPort)")
            delivered = .delivered(
                vm: vm.id, address: vm.address, port: packet.destinationPort, server: nil)
        case .appliance(let index):
            var appliancePacket = packet
            appliancePacket.source = clientSeenByServer
            appliancePacket.inInterface = "eth0"
            appliancePacket.outInterface = nil
            guard
                let outcome = throughAppliance(index, appliancePacket, flow: flow, result: &result)
            else { return result }
            delivered = outcome
        }
        result.outcome = delivered

        // Replies: conntrack reverses the NAT; the router's FORWARD sees them as ESTABLISHED.
        let reply = Packet(
            source: packet.destination, destination: clientSeenByServer,
            sourcePort: packet.destinationPort,
            destinationPort: flow.clientPort, inInterface: tierInterface,
            outInterface: router.vpc.publicInterface,
            state: .established)
        let replyForward = router.netfilter.run(
            hook: .forward, packet: reply, includeNAT: false)
        if let blocked = blocking(replyForward, node: node, step: "filter FORWARD (reply)") {
            if recordsTraces { result.hops.append(blocked.hop) }
            result.outcome = .dropped("reply \(blocked.outcome)")
        } else {
            result.replyFrom = (flow.target, flow.port)
            hop(
                node, "reply",
                "un-NAT \(packet.destination):\(packet.destinationPort) -> \(flow.target):\(flow.port)"
            )
        }
        return result
    }

    /// The appliance part: firewall, HAProxy listener, ACLs, persistence, balancing, backend.
    private mutating func throughAppliance(
        _ index: Int, _ packet: Packet, flow: Flow, result: inout FlowResult
    ) -> Outcome? {
        let appliance = deployment.appliances[index]
        let node = appliance.traceName
        let tracing = recordsTraces
        func hop(_ step: String, _ decision: @autoclosure () -> String, _ source: SourceLine? = nil)
        {
            guard tracing else { return }
            result.hops.append(Hop(node: node, step: step, decision: decision(), source: source))
        }
        let input = appliance.netfilter.run(hook: .input, packet: packet, includeNAT: false)
        if let blocked = blocking(input, node: node, step: "filter INPUT") {
            if recordsTraces { result.hops.append(blocked.hop) }
            result.outcome = blocked.outcome
            return nil
        }
        if case .accept(let line) = input { hop("filter INPUT", "ACCEPT", line) }
        if let failure = appliance.startFailure {
            hop("haproxy", failure)
            result.outcome = .refused(failure)
            return nil
        }
        guard let frontendIndex = appliance.listener(packet.destination, packet.destinationPort)
        else {
            hop("haproxy", "no listener on \(packet.destination):\(packet.destinationPort)")
            result.outcome = .refused(
                "no HAProxy listener on \(packet.destination):\(packet.destinationPort) at \(node)")
            return nil
        }
        let frontend = appliance.proxies[frontendIndex]
        result.listener = frontend.line
        hop("haproxy", "listener \(frontend.section.name)", frontend.line)
        for reject in frontend.section.connectionRejects {
            let inACL = frontend.section.sourceACLs[reject.acl]!.contains {
                $0.contains(packet.source)
            }
            if inACL != reject.negated {
                let line = frontend.sourceLine(reject.line)
                hop("haproxy", "tcp-request connection reject (\(packet.source))", line)
                result.outcome = .refused("rejected by \(line)")
                return nil
            }
        }
        if frontend.section.isStats {
            hop("haproxy", "stats page")
            result.outcome = .refused("HAProxy stats page at \(frontend.line), not a backend")
            return nil
        }
        let backend = appliance.proxies[frontend.backend]
        let servers = backend.section.servers
        let backendKey = deployment.firstProxyNumber[index] + frontend.backend
        if balancers[backendKey] == nil {
            // Usability is fixed for a run (VM states come from the artifacts): decide it once.
            let usable = servers.map { server in
                !server.disabled && (!server.check || serverHost(appliance, server.address) != nil)
            }
            balancers[backendKey] = Balancer(proxy: backend.section, usable: usable)
        }
        let usable = balancers[backendKey]!.usable

        // Cookies matter in HTTP mode only.
        let isHTTP = backend.section.mode == .http
        let jarKey = JarKey(client: flow.client, target: flow.target, port: flow.port)
        let jar = isHTTP && flow.returnsCookies ? cookieJars[jarKey, default: [:]] : [:]
        var chosen: Int?
        if isHTTP, let cookie = backend.section.cookie, let value = jar[cookie.name],
            let server = servers.indices.first(where: { servers[$0].cookie == value }),
            usable[server]
        {
            chosen = server
            hop(
                "haproxy", "cookie \(cookie.name)=\(value) -> \(servers[server].name)",
                backend.sourceLine(cookie.line))
        }
        if chosen == nil, let stickLine = backend.section.stickOnSource,
            let server = stickBySource[backendKey]?[packet.source], usable[server]
        {
            chosen = server
            hop(
                "haproxy", "stick-table src \(packet.source) -> \(servers[server].name)",
                backend.sourceLine(stickLine))
        }
        if chosen == nil, isHTTP {
            for name in backend.section.stickMatchCookies {
                if let value = jar[name], let server = stickByValue[backendKey]?[value],
                    usable[server]
                {
                    chosen = server
                    hop("haproxy", "stick match cookie \(name)=\(value) -> \(servers[server].name)")
                    break
                }
            }
        }
        result.persisted = chosen != nil
        if chosen == nil {
            chosen = balancers[backendKey]!.pick(client: packet.source)
            if let server = chosen {
                openConnections.append((backendKey, server))
                hop(
                    "haproxy",
                    "balance \(backend.section.algorithm.rawValue) -> \(servers[server].name)",
                    backend.sourceLine(servers[server].line))
            }
        }
        guard let server = chosen else {
            hop("haproxy", "no usable server in \(backend.section.name)")
            result.outcome = .failed(
                "no usable server in \(backend.section.name) (\(backend.line))")
            return nil
        }
        let target = servers[server]
        let serverLine = backend.sourceLine(target.line)
        if backend.section.stickOnSource != nil {
            stickBySource[backendKey, default: [:]][packet.source] = server
        }
        let serverPacket = Packet(
            source: appliance.addresses.guestIP, destination: target.address, sourcePort: 40000,
            destinationPort: target.port,
            inInterface: nil, outInterface: "eth0", state: .new)
        let output = appliance.netfilter.run(
            hook: .output, packet: serverPacket, includeNAT: true)
        if case .drop(let line) = output {
            hop("filter OUTPUT", "DROP to \(target.address):\(target.port)", line)
            result.outcome = .failed(
                "connection to server \(target.name) dropped at \(node) filter OUTPUT")
            return nil
        }
        guard let vm = serverHost(appliance, target.address) else {
            hop(
                "haproxy", "server \(target.name) \(target.address):\(target.port) does not answer",
                serverLine)
            result.outcome = .failed("server \(target.name) (\(serverLine)) does not answer")
            return nil
        }
        // Responses: cookie insert and application cookies learnt into the stick table.
        if isHTTP {
            if let cookie = backend.section.cookie, let value = target.cookie,
                jar[cookie.name] != value
            {
                cookieJars[jarKey, default: [:]][cookie.name] = value
            }
            if let name = backend.section.stickStoreResponseCookie {
                stickByValue[backendKey, default: [:]][vm.id] = server
                cookieJars[jarKey, default: [:]][name] = vm.id
            }
        }
        if recordsTraces {
            result.hops.append(
                Hop(
                    node: "vm \(vm.id)", step: "accept",
                    decision: "from \(target.name) on \(target.address):\(target.port)",
                    source: serverLine))
        }
        return .delivered(
            vm: vm.id, address: target.address, port: target.port, server: target.name)
    }

    /// The hop and outcome of a DROP or REJECT verdict at `step`; nil when the packet passes.
    private func blocking(_ verdict: ChainResult, node: String, step: String) -> (
        hop: Hop, outcome: Outcome
    )? {
        switch verdict {
        case .drop(let line):
            let place = line.map(\.description) ?? "policy"
            return (
                Hop(node: node, step: step, decision: "DROP", source: line),
                .dropped("at \(node) \(step) (\(place))")
            )
        case .reject(let line):
            return (
                Hop(node: node, step: step, decision: "REJECT", source: line),
                .refused("rejected at \(node) \(step) (\(line))")
            )
        default:
            return nil
        }
    }

    private func finish(_ result: inout FlowResult, _ blocked: (hop: Hop, outcome: Outcome))
        -> FlowResult
    {
        if recordsTraces { result.hops.append(blocked.hop) }
        result.outcome = blocked.outcome
        return result
    }

    /// The running VM holding `address` in the appliance's tier.
    private func serverHost(_ appliance: SimulatedDeployment.Appliance, _ address: IPv4Address)
        -> Topology.VirtualMachine?
    {
        if case .virtualMachine(let vm) = deployment.hosts[appliance.vpcIndex][appliance.tierIndex][
            address]
        {
            return vm
        }
        return nil
    }
}
