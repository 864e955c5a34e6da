import Foundation
import InlineLBCore

/// Simulates flows end to end over a loaded deployment, keeping HAProxy's balancing and
/// persistence state and each client's cookies across flows.
///
/// Untraced flows reuse the stateless part of their path (``FlowPath``) when no rule on the
/// way reads or indexes their client, so most flows cost a lookup plus HAProxy's choice.
public struct FlowEngine {
    private let deployment: SimulatedDeployment

    /// Frontends and backends, numbered as ``SimulatedDeployment/firstProxyNumber`` says; nil
    /// until their first connection.
    private var frontends: [FrontendRules?]
    private var backends: [BackendState?]
    private var cookies = CookieStrings()
    private var outcomes = OutcomeNumbers()
    private var listenerLines: [SourceLine] = []
    /// Paths that hold for any client the rules do not name, by target address and port.
    private var paths = UInt64Map<NumberedPath>()
    /// Cookies each client holds, per target address and port.
    private var cookieJars = CookieJars()
    /// Connections of the current batch on balancers that count them (leastconn).
    private var openConnections: [(backend: Int, server: Int)] = []
    private var currentBatch = -1

    /// Flows at positions below this carry their hop-by-hop trace.
    private let tracedFlows: Int
    /// Whether the flow being simulated records its trace.
    private var recordsTraces = true
    /// The hops of the flow being simulated, when it records its trace.
    private var trace: [Hop] = []

    /// What a path means for the flows that take it, in 32 bytes of plain values (so that
    /// reusing it costs no reference counting), its outcomes numbered in the engine's table.
    private struct NumberedPath {
        enum Kind: UInt8 { case ended, virtualMachine, listener }
        /// Where the stateless part ends (``FlowPath/End``).
        var kind: Kind
        /// The outcome where the path ends, unless it ends at a listener.
        var end: UInt32 = 0
        /// The positions of the listener's appliance and frontend, when it ends at one.
        var appliance: Int32 = 0
        var frontend: Int32 = 0
        var translatedSource: IPv4Address?
        /// The outcome when the router blocks the replies; nil when they pass.
        var blockedReply: UInt32?
    }

    /// An engine over `deployment`. Only the first `tracedFlows` flows of a run carry hops
    /// (outcomes, replies and persistence are the same without), which is much cheaper.
    public init(deployment: SimulatedDeployment, tracedFlows: Int = .max) {
        self.deployment = deployment
        self.tracedFlows = tracedFlows
        frontends = Array(repeating: nil, count: deployment.firstProxyNumber.last ?? 0)
        backends = Array(repeating: nil, count: deployment.firstProxyNumber.last ?? 0)
    }

    /// Simulates `flows` in order.
    public mutating func run(_ flows: [Flow]) -> FlowResults {
        run(flows, positions: Array(flows.indices))
    }

    /// Simulates `flows` in order; `positions` are their places in the whole run. Connections
    /// still open at the end are closed, as when the next flow starts another batch.
    public mutating func run(_ flows: [Flow], positions: [Int]) -> FlowResults {
        var records: [FlowRecord] = []
        records.reserveCapacity(flows.count)
        var hops: [Int: [Hop]] = [:]
        for (index, (flow, position)) in zip(flows, positions).enumerated() {
            if flow.batch != currentBatch {
                closeConnections()
                currentBatch = flow.batch
            }
            recordsTraces = position < tracedFlows
            records.append(simulate(flow))
            if recordsTraces {
                hops[index] = trace
                trace = []
            }
        }
        closeConnections()
        return FlowResults(
            flows: flows, records: records, outcomes: outcomes.outcomes,
            listenerLines: listenerLines, hops: hops)
    }

    /// Simulates `flows` on all cores, with the results of one engine running them in order.
    ///
    /// Each of the ``shards(of:over:)`` runs on its own engine, in order, and the results are
    /// put back in place.
    public static func run(
        _ flows: [Flow], over deployment: SimulatedDeployment, tracedFlows: Int = .max
    ) -> FlowResults {
        let parts = shards(of: flows, over: deployment).concurrentMap { positions in
            (positions, run(positions, of: flows, over: deployment, tracedFlows: tracedFlows))
        }
        return FlowResults(merging: parts, of: flows)
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
    ) -> FlowResults {
        var engine = FlowEngine(deployment: deployment, tracedFlows: tracedFlows)
        return engine.run(positions.map { flows[$0] }, positions: positions)
    }

    private mutating func closeConnections() {
        guard !openConnections.isEmpty else { return }
        // In the order opened: leastconn breaks ties between servers by the order they were
        // released.
        for connection in openConnections {
            backends[connection.backend]?.balancer.release(connection.server)
        }
        openConnections.removeAll(keepingCapacity: true)
    }

    private mutating func simulate(_ flow: Flow) -> FlowRecord {
        guard recordsTraces else { return connect(flow, along: reusablePath(of: flow)).record }
        let path = FlowPath(flow, through: deployment, tracing: true)
        trace = path.hops
        let (record, connected) = connect(flow, along: numbered(path, kept: false))
        if connected {
            switch path.reply {
            case .passes(let hop): if let hop { trace.append(hop) }
            case .blocked(let hop, _): trace.append(hop)
            }
        }
        return record
    }

    /// The record of `flow` along `path`, and whether a VM took the connection (so that
    /// replies come back, or meet the router's block).
    private mutating func connect(_ flow: Flow, along path: NumberedPath) -> (
        record: FlowRecord, connected: Bool
    ) {
        var record = FlowRecord(outcome: path.end)
        switch path.kind {
        case .ended:
            return (record, false)
        case .virtualMachine:
            break
        case .listener:
            guard
                let delivered = balance(
                    flow, from: path.translatedSource ?? flow.client,
                    at: Int(path.appliance), frontend: Int(path.frontend), record: &record)
            else { return (record, false) }
            record.outcome = delivered
        }
        if let blocked = path.blockedReply {
            record.outcome = blocked
        } else {
            record.replied = true
        }
        return (record, true)
    }

    /// The stateless part of an untraced `flow`'s path: reused when it cannot depend on the
    /// client, computed otherwise.
    private mutating func reusablePath(of flow: Flow) -> NumberedPath {
        guard (0...65535).contains(flow.port),
            !deployment.indexedAddresses.contains(flow.client.value)
        else { return computedPath(of: flow, keptAs: nil) }
        let key = UInt64(flow.target.value) << 16 | UInt64(flow.port)
        return paths[key] ?? computedPath(of: flow, keptAs: key)
    }

    /// `flow`'s path, computed, and kept under `key` for reuse unless it depends on the
    /// client. (Not inlined: on its own, the path object it builds and drops is kept on the
    /// stack instead of allocated.)
    @inline(never)
    private mutating func computedPath(of flow: Flow, keptAs key: UInt64?) -> NumberedPath {
        let path = FlowPath(flow, through: deployment, tracing: false)
        guard let key, !path.readsClient else { return numbered(path, kept: false) }
        let kept = numbered(path, kept: true)
        paths.set(kept, for: key)
        return kept
    }

    /// `path` in plain values, with its outcomes numbered: added as new when the path is
    /// `kept` for reuse (made once), numbered as the flow's own otherwise.
    private mutating func numbered(_ path: FlowPath, kept: Bool) -> NumberedPath {
        func number(_ outcome: Outcome) -> UInt32 {
            kept ? outcomes.add(outcome) : flowsOwn(outcome)
        }
        var numbered: NumberedPath
        switch path.end {
        case .ended(let outcome):
            numbered = NumberedPath(kind: .ended, end: number(outcome))
        case .virtualMachine(let outcome):
            numbered = NumberedPath(kind: .virtualMachine, end: number(outcome))
        case .listener(let appliance, let frontend):
            numbered = NumberedPath(
                kind: .listener, appliance: Int32(appliance), frontend: Int32(frontend))
        }
        numbered.translatedSource = path.translatedSource
        if case .blocked(_, let outcome) = path.reply { numbered.blockedReply = number(outcome) }
        return numbered
    }

    /// The number of `outcome`, made for the flow being simulated: added as new when the
    /// flow is traced (its trace costs more than the outcome), looked up otherwise, so that
    /// a long run stores such an outcome once.
    private mutating func flowsOwn(_ outcome: Outcome) -> UInt32 {
        recordsTraces ? outcomes.add(outcome) : outcomes.number(outcome)
    }

    /// HAProxy's part after the listener: connection rules, persistence, balancing and the
    /// server's answer. `source` is the client address HAProxy sees. The delivered outcome's
    /// number, or nil when the flow ends in HAProxy (with its outcome in `record`).
    private mutating func balance(
        _ flow: Flow, from source: IPv4Address, at index: Int, frontend frontendIndex: Int,
        record: inout FlowRecord
    ) -> UInt32? {
        let tracing = recordsTraces
        func hop(_ step: String, _ decision: @autoclosure () -> String, _ source: SourceLine? = nil)
        {
            guard tracing else { return }
            trace.append(
                Hop(
                    node: deployment.appliances[index].traceName, step: step,
                    decision: decision(), source: source))
        }
        let number = prepareFrontend(at: index, frontendIndex)
        record.listener = frontends[number]!.listener
        if let reject = frontends[number]!.rejection(of: source) {
            hop("haproxy", "tcp-request connection reject (\(source))", reject.line)
            record.outcome = flowsOwn(.refused("rejected by \(reject.line)"))
            return nil
        }
        if frontends[number]!.isStats {
            hop("haproxy", "stats page")
            let page = deployment.appliances[index].proxies[frontendIndex].line
            record.outcome = flowsOwn(.refused("HAProxy stats page at \(page), not a backend"))
            return nil
        }
        let key = frontends[number]!.backend
        if backends[key] == nil {
            let appliance = deployment.appliances[index]
            let proxy = appliance.proxies[key - deployment.firstProxyNumber[index]]
            let rules = BackendRules(proxy, of: appliance, in: deployment, cookies: &cookies)
            backends[key] = BackendState(rules, outcomes: &outcomes)
        }
        let rules = backends[key]!.rules

        // Cookies matter in HTTP mode only, and only to backends with cookie persistence.
        let jar =
            rules.readsCookies
            ? cookieJars.jar(client: flow.client, target: flow.target, port: flow.port) : nil
        // The value of the cookie called `name` that the client sends, if any.
        func sent(_ name: Int) -> Int? {
            guard flow.returnsCookies, let jar else { return nil }
            return cookieJars.value(of: name, in: jar)
        }
        var chosen: Int?
        if rules.isHTTP, let cookie = rules.insertedCookie, let value = sent(cookie.name),
            let server = cookie.values.firstIndex(of: value), rules.usable[server]
        {
            chosen = server
            hop(
                "haproxy",
                "cookie \(cookies.strings[cookie.name])=\(cookies.strings[value]) -> \(rules.servers[server].name)",
                cookie.line)
        }
        if chosen == nil, let stickLine = rules.stickOnSource,
            let server = backends[key]!.stickBySource[UInt64(source.value)], rules.usable[server]
        {
            chosen = server
            hop(
                "haproxy", "stick-table src \(source) -> \(rules.servers[server].name)",
                stickLine)
        }
        if chosen == nil, rules.isHTTP {
            for cookie in rules.stickMatchCookies {
                if let value = sent(cookie),
                    let server = backends[key]!.stickByValue[UInt64(value)], rules.usable[server]
                {
                    chosen = server
                    hop(
                        "haproxy",
                        "stick match cookie \(cookies.strings[cookie])=\(cookies.strings[value]) -> \(rules.servers[server].name)"
                    )
                    break
                }
            }
        }
        record.persisted = chosen != nil
        if chosen == nil {
            chosen = backends[key]!.balancer.pick(client: source)
            if let server = chosen {
                if backends[key]!.balancer.countsConnections {
                    openConnections.append((key, server))
                }
                hop(
                    "haproxy",
                    "balance \(rules.proxy.section.algorithm.rawValue) -> \(rules.servers[server].name)",
                    rules.proxy.sourceLine(rules.servers[server].line))
            }
        }
        guard let server = chosen else {
            let backendName = rules.proxy.section.name
            hop("haproxy", "no usable server in \(backendName)")
            record.outcome = flowsOwn(
                .failed("no usable server in \(backendName) (\(rules.proxy.line))"))
            return nil
        }
        if rules.stickOnSource != nil {
            backends[key]!.stickBySource.set(server, for: UInt64(source.value))
        }
        let connection = backends[key]!.connections[server]
        guard connection.answers else {
            if tracing, case .fails(_, let hop) = rules.reach[server] { trace.append(hop) }
            record.outcome = connection.outcome
            return nil
        }
        // Responses: cookie insert and application cookies learnt into the stick table (a
        // jar is held exactly when the backend reads cookies, in HTTP mode).
        if var held = jar {
            if let cookie = rules.insertedCookie, let value = cookie.values[server] {
                cookieJars.set(value, of: cookie.name, in: &held)
            }
            if let cookie = rules.storedResponseCookie,
                case .answers(_, let vmCookie?) = rules.reach[server]
            {
                backends[key]!.stickByValue.set(server, for: UInt64(vmCookie))
                cookieJars.set(vmCookie, of: cookie, in: &held)
            }
        }
        if tracing {
            // Delivered outcomes always name a VM.
            let target = rules.servers[server]
            trace.append(
                Hop(
                    node: "vm \(outcomes.outcomes[Int(connection.outcome)].deliveredVM!)",
                    step: "accept",
                    decision: "from \(target.name) on \(target.address):\(target.port)",
                    source: rules.proxy.sourceLine(target.line)))
        }
        return connection.outcome
    }

    /// The number of frontend `frontend` of appliance `index`, with its rules prepared in
    /// `frontends` on first use.
    private mutating func prepareFrontend(at index: Int, _ frontend: Int) -> Int {
        let number = deployment.firstProxyNumber[index] + frontend
        guard frontends[number] == nil else { return number }
        let proxy = deployment.appliances[index].proxies[frontend]
        listenerLines.append(proxy.line)
        frontends[number] = FrontendRules(
            proxy, backend: deployment.firstProxyNumber[index] + proxy.backend,
            listener: UInt32(listenerLines.count))
        return number
    }
}
