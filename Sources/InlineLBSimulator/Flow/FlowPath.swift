import InlineLBCore

/// The part of a flow's path that holds no state: the router's static NAT, routing and
/// filter, delivery inside the tier, the appliance's firewall and HAProxy listener, and the
/// fate of the replies. ``FlowEngine`` adds HAProxy's stateful choices (persistence and
/// balancing) between the listener and the replies.
///
/// A path depends on the flow's target and port, and on its client only where a rule looks
/// at the client's address or port (``readsClient``) or indexes it. When neither happens,
/// the same path holds for every other client to that target and port, and the engine
/// reuses it. (A class, so that reusing it costs one retain; it does not change once built.)
final class FlowPath {
    /// Where the stateless part ends.
    enum End {
        /// Before any VM or listener: the outcome is final.
        case ended(Outcome)
        /// At a VM, by static NAT alone.
        case virtualMachine(Outcome)
        /// At an appliance's HAProxy listener (the positions of the appliance and of the
        /// frontend among its proxies).
        case listener(appliance: Int, frontend: Int)
    }

    /// What happens to the replies of a connection that gets through. (Indirect: hops are
    /// large, and a reused path holds none.)
    indirect enum Reply {
        /// They reach the client, un-NATed (the hop saying so, when tracing).
        case passes(Hop?)
        /// The router blocks them: the hop, and the flow's outcome.
        case blocked(Hop, Outcome)
    }

    private(set) var end: End = .ended(.dropped("not simulated"))
    private(set) var reply: Reply = .passes(nil)
    /// The source address that SNAT put in the client's place before the appliance, if any.
    private(set) var translatedSource: IPv4Address?
    /// The hops so far (empty unless tracing).
    private(set) var hops: [Hop] = []
    /// Whether any rule on the way looked at the client's address or port.
    private(set) var readsClient = false
    private let tracing: Bool

    /// The path of `flow` through `deployment`, with its hops when `tracing`.
    init(_ flow: Flow, through deployment: SimulatedDeployment, tracing: Bool) {
        self.tracing = tracing
        guard let routerIndex = deployment.routerOfPublicAddress[flow.target] else {
            hop("internet", "routing", "no VPC router holds \(flow.target)")
            end = .ended(.dropped("no VPC router holds \(flow.target)"))
            return
        }
        let router = deployment.routers[routerIndex]
        let node = router.traceName
        var packet = Packet(
            source: flow.client, destination: flow.target, sourcePort: flow.clientPort,
            destinationPort: flow.port,
            inInterface: router.vpc.publicInterface, outInterface: nil, state: .new)

        // PREROUTING: DNAT decided on the first packet.
        switch run(router.netfilter, .prerouting, packet, includeNAT: true, client: .source) {
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
            let input = run(router.netfilter, .input, packet, includeNAT: true, client: .source)
            if let blocked = FlowPath.blocking(input, node: node, step: "filter INPUT") {
                stop(blocked)
                return
            }
            hop(node, "filter INPUT", "ACCEPT; no service on port \(packet.destinationPort)")
            end = .ended(
                .refused(
                    "\(node) has no service on \(packet.destination):\(packet.destinationPort)"))
            return
        }
        guard
            let tierIndex = router.vpc.tiers.firstIndex(where: {
                $0.cidr.contains(packet.destination)
            })
        else {
            hop(
                node, "routing",
                "\(packet.destination) is in no tier; routed back to the public side")
            end = .ended(.dropped("\(packet.destination) is in no tier of \(router.vpc.id)"))
            return
        }
        let tier = router.vpc.tiers[tierIndex]
        packet.outInterface = tier.interface
        hop(node, "routing", "\(packet.destination) via \(tier.interface) (tier \(tier.id))")

        let forward = run(router.netfilter, .forward, packet, includeNAT: false, client: .source)
        if let blocked = FlowPath.blocking(forward, node: node, step: "filter FORWARD") {
            stop(blocked)
            return
        }
        if case .accept(let line) = forward { hop(node, "filter FORWARD", "ACCEPT", line) }
        let postrouting = run(
            router.netfilter, .postrouting, packet, includeNAT: true, client: .source)
        if case .snat(let address, _, let line) = postrouting {
            hop(node, "nat POSTROUTING", "SNAT source -> \(address)", line)
            translatedSource = address
        }

        // Delivery inside the tier.
        switch deployment.hosts[routerIndex][tierIndex][packet.destination] {
        case nil:
            hop("tier \(tier.id)", "delivery", "no running host holds \(packet.destination)")
            end = .ended(
                .dropped("no running host holds \(packet.destination) in tier \(tier.id)"))
            return
        case .virtualMachine(let vm):
            hop(
                "vm \(vm.id)", "accept",
                "connection on \(packet.destination):\(packet.destinationPort)")
            end = .virtualMachine(
                .delivered(
                    vm: vm.id, address: vm.address, port: packet.destinationPort, server: nil))
        case .appliance(let index):
            var appliancePacket = packet
            appliancePacket.source = translatedSource ?? flow.client
            appliancePacket.inInterface = "eth0"
            appliancePacket.outInterface = nil
            guard intoListener(index, appliancePacket, in: deployment) else { return }
        }

        // Replies: conntrack reverses the NAT; the router's FORWARD sees them as ESTABLISHED.
        let replyPacket = Packet(
            source: packet.destination, destination: translatedSource ?? flow.client,
            sourcePort: packet.destinationPort, destinationPort: flow.clientPort,
            inInterface: tier.interface, outInterface: router.vpc.publicInterface,
            state: .established)
        let replyForward = run(
            router.netfilter, .forward, replyPacket, includeNAT: false, client: .destination)
        if let blocked = FlowPath.blocking(
            replyForward, node: node, step: "filter FORWARD (reply)")
        {
            reply = .blocked(blocked.hop, .dropped("reply \(blocked.outcome)"))
        } else if tracing {
            reply = .passes(
                Hop(
                    node: node, step: "reply",
                    decision:
                        "un-NAT \(packet.destination):\(packet.destinationPort) -> \(flow.target):\(flow.port)"
                ))
        }
    }

    /// The appliance's firewall and HAProxy listener; false when the flow ends there.
    private func intoListener(
        _ index: Int, _ packet: Packet, in deployment: SimulatedDeployment
    ) -> Bool {
        let appliance = deployment.appliances[index]
        let node = appliance.traceName
        let input = run(appliance.netfilter, .input, packet, includeNAT: false, client: .source)
        if let blocked = FlowPath.blocking(input, node: node, step: "filter INPUT") {
            stop(blocked)
            return false
        }
        if case .accept(let line) = input { hop(node, "filter INPUT", "ACCEPT", line) }
        if let failure = appliance.startFailure {
            hop(node, "haproxy", failure)
            end = .ended(.refused(failure))
            return false
        }
        guard let frontend = appliance.listener(packet.destination, packet.destinationPort)
        else {
            hop(node, "haproxy", "no listener on \(packet.destination):\(packet.destinationPort)")
            end = .ended(
                .refused(
                    "no HAProxy listener on \(packet.destination):\(packet.destinationPort) at \(node)"
                ))
            return false
        }
        let proxy = appliance.proxies[frontend]
        hop(node, "haproxy", "listener \(proxy.section.name)", proxy.line)
        end = .listener(appliance: index, frontend: frontend)
        return true
    }

    /// Runs `hook` of `engine`, noting whether a rule looked at the client.
    private func run(
        _ engine: NetfilterEngine, _ hook: NetfilterHook, _ packet: Packet, includeNAT: Bool,
        client: PacketEnd
    ) -> ChainResult {
        let (verdict, readsClient) = engine.run(
            hook: hook, packet: packet, includeNAT: includeNAT, client: client)
        self.readsClient = self.readsClient || readsClient
        return verdict
    }

    private func hop(
        _ node: @autoclosure () -> String, _ step: String,
        _ decision: @autoclosure () -> String, _ source: SourceLine? = nil
    ) {
        guard tracing else { return }
        hops.append(Hop(node: node(), step: step, decision: decision(), source: source))
    }

    private func stop(_ blocked: (hop: Hop, outcome: Outcome)) {
        if tracing { hops.append(blocked.hop) }
        end = .ended(blocked.outcome)
    }

    /// The hop and outcome of a DROP or REJECT verdict at `step`; nil when the packet passes.
    private static func blocking(_ verdict: ChainResult, node: String, step: String) -> (
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
}
