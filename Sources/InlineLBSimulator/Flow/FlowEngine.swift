import Foundation
import InlineLBCore

/// Simulates flows end to end over a loaded deployment, keeping HAProxy's balancing and
/// persistence state and each client's cookies across flows.
///
/// Untraced flows reuse the stateless part of their path (``FlowPath``) when no rule on the
/// way reads or indexes their client, so most flows cost a lookup plus HAProxy's choice.
public struct FlowEngine {
    private let deployment: SimulatedDeployment
    /// One client's cookies for one public address and port.
    private struct JarKey: Hashable {
        var client: IPv4Address
        var target: IPv4Address
        var port: Int
    }

    /// Frontends and backends, numbered as ``SimulatedDeployment/firstProxyNumber`` says; nil
    /// until their first connection.
    private var frontends: [FrontendRules?]
    private var backends: [BackendState?]
    private var cookies = CookieStrings()
    /// Paths that hold for any client the rules do not name, by target address and port.
    private var paths: [UInt64: FlowPath] = [:]
    /// Cookies each client holds (numbered names and values), per target address and port.
    private var cookieJars: [JarKey: [Int: Int]] = [:]
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
        frontends = Array(repeating: nil, count: deployment.firstProxyNumber.last ?? 0)
        backends = Array(repeating: nil, count: deployment.firstProxyNumber.last ?? 0)
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
            backends[connection.backend]?.balancer.release(connection.server)
        }
        openConnections.removeAll()
    }

    private mutating func simulate(_ flow: Flow) -> FlowResult {
        let path = self.path(of: flow)
        var result = FlowResult(
            flow: flow, outcome: .dropped("not simulated"), persisted: false, hops: path.hops)
        switch path.end {
        case .ended(let outcome):
            result.outcome = outcome
            return result
        case .virtualMachine(let delivered):
            result.outcome = delivered
        case .listener(let appliance, let frontend):
            let source = path.translatedSource ?? flow.client
            guard
                let delivered = balance(
                    flow, from: source, at: appliance, frontend: frontend, result: &result)
            else { return result }
            result.outcome = delivered
        }
        switch path.reply {
        case .passes(let hop):
            result.replyFrom = (flow.target, flow.port)
            if let hop { result.hops.append(hop) }
        case .blocked(let hop, let outcome):
            if recordsTraces { result.hops.append(hop) }
            result.outcome = outcome
        }
        return result
    }

    /// The stateless part of `flow`'s path: computed, or reused when it cannot depend on the
    /// client (untraced flows only, as a reused path has no hops).
    private mutating func path(of flow: Flow) -> FlowPath {
        guard !recordsTraces, (0...65535).contains(flow.port),
            !deployment.indexedAddresses.contains(flow.client.value)
        else {
            return FlowPath(flow, through: deployment, tracing: recordsTraces)
        }
        let key = UInt64(flow.target.value) << 16 | UInt64(flow.port)
        if let path = paths[key] { return path }
        let path = FlowPath(flow, through: deployment, tracing: false)
        if !path.readsClient { paths[key] = path }
        return path
    }

    /// HAProxy's part after the listener: connection rules, persistence, balancing and the
    /// server's answer. `source` is the client address HAProxy sees.
    private mutating func balance(
        _ flow: Flow, from source: IPv4Address, at index: Int, frontend frontendIndex: Int,
        result: inout FlowResult
    ) -> Outcome? {
        let appliance = deployment.appliances[index]
        let node = appliance.traceName
        let tracing = recordsTraces
        func hop(_ step: String, _ decision: @autoclosure () -> String, _ source: SourceLine? = nil)
        {
            guard tracing else { return }
            result.hops.append(Hop(node: node, step: step, decision: decision(), source: source))
        }
        let frontend = frontendRules(at: index, frontendIndex)
        result.listener = frontend.proxy.line
        if let reject = frontend.rejection(of: source) {
            hop("haproxy", "tcp-request connection reject (\(source))", reject.line)
            result.outcome = .refused("rejected by \(reject.line)")
            return nil
        }
        if frontend.isStats {
            hop("haproxy", "stats page")
            result.outcome = .refused(
                "HAProxy stats page at \(frontend.proxy.line), not a backend")
            return nil
        }
        let key = frontend.backend
        if backends[key] == nil {
            let proxy = appliance.proxies[key - deployment.firstProxyNumber[index]]
            backends[key] = BackendState(
                BackendRules(proxy, of: appliance, in: deployment, cookies: &cookies))
        }
        let rules = backends[key]!.rules
        let servers = rules.servers

        // Cookies matter in HTTP mode only.
        let jarKey = JarKey(client: flow.client, target: flow.target, port: flow.port)
        let jar = rules.isHTTP && flow.returnsCookies ? cookieJars[jarKey] ?? [:] : [:]
        var chosen: Int?
        if rules.isHTTP, let cookie = rules.insertedCookie, let value = jar[cookie.name],
            let server = cookie.values.firstIndex(of: value), rules.usable[server]
        {
            chosen = server
            hop(
                "haproxy",
                "cookie \(cookies.strings[cookie.name])=\(cookies.strings[value]) -> \(servers[server].name)",
                cookie.line)
        }
        if chosen == nil, let stickLine = rules.stickOnSource,
            let server = backends[key]!.stickBySource[source], rules.usable[server]
        {
            chosen = server
            hop(
                "haproxy", "stick-table src \(source) -> \(servers[server].name)", stickLine)
        }
        if chosen == nil, rules.isHTTP {
            for cookie in rules.stickMatchCookies {
                if let value = jar[cookie], let server = backends[key]!.stickByValue[value],
                    rules.usable[server]
                {
                    chosen = server
                    hop(
                        "haproxy",
                        "stick match cookie \(cookies.strings[cookie])=\(cookies.strings[value]) -> \(servers[server].name)"
                    )
                    break
                }
            }
        }
        result.persisted = chosen != nil
        if chosen == nil {
            chosen = backends[key]!.balancer.pick(client: source)
            if let server = chosen {
                openConnections.append((key, server))
                hop(
                    "haproxy",
                    "balance \(rules.proxy.section.algorithm.rawValue) -> \(servers[server].name)",
                    rules.proxy.sourceLine(servers[server].line))
            }
        }
        guard let server = chosen else {
            let backendName = rules.proxy.section.name
            hop("haproxy", "no usable server in \(backendName)")
            result.outcome = .failed(
                "no usable server in \(backendName) (\(rules.proxy.line))")
            return nil
        }
        if rules.stickOnSource != nil {
            backends[key]!.stickBySource[source] = server
        }
        let delivered: Outcome
        let vmCookie: Int
        switch rules.reach[server] {
        case .dropped(let line):
            let target = servers[server]
            hop("filter OUTPUT", "DROP to \(target.address):\(target.port)", line)
            result.outcome = .failed(
                "connection to server \(target.name) dropped at \(node) filter OUTPUT")
            return nil
        case .silent:
            let target = servers[server]
            let line = rules.proxy.sourceLine(target.line)
            hop(
                "haproxy", "server \(target.name) \(target.address):\(target.port) does not answer",
                line)
            result.outcome = .failed("server \(target.name) (\(line)) does not answer")
            return nil
        case .answers(let outcome, let cookie):
            delivered = outcome
            vmCookie = cookie
        }
        // Responses: cookie insert and application cookies learnt into the stick table.
        if rules.isHTTP {
            if let cookie = rules.insertedCookie, let value = cookie.values[server],
                jar[cookie.name] != value
            {
                cookieJars[jarKey, default: [:]][cookie.name] = value
            }
            if let cookie = rules.storedResponseCookie {
                backends[key]!.stickByValue[vmCookie] = server
                cookieJars[jarKey, default: [:]][cookie] = vmCookie
            }
        }
        if recordsTraces {
            // `answers` always holds a delivery.
            let target = servers[server]
            result.hops.append(
                Hop(
                    node: "vm \(delivered.deliveredVM!)", step: "accept",
                    decision: "from \(target.name) on \(target.address):\(target.port)",
                    source: rules.proxy.sourceLine(target.line)))
        }
        return delivered
    }

    /// The rules of frontend `frontend` of appliance `index`, prepared on first use.
    private mutating func frontendRules(at index: Int, _ frontend: Int) -> FrontendRules {
        let number = deployment.firstProxyNumber[index] + frontend
        if let rules = frontends[number] { return rules }
        let proxy = deployment.appliances[index].proxies[frontend]
        let rules = FrontendRules(
            proxy, backend: deployment.firstProxyNumber[index] + proxy.backend)
        frontends[number] = rules
        return rules
    }
}
