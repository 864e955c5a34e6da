import InlineLBCore

/// One way the simulated deployment departs from the intent.
public struct Violation: Sendable, CustomStringConvertible {
    /// The flow concerned, when one is.
    public var flow: Flow?
    public var rule: String?
    public var expected: String
    public var actual: String
    /// The hop that decided, with its artifact line.
    public var hop: Hop?

    public var description: String {
        var text = ""
        if let flow {
            text +=
                "flow #\(flow.id) \(flow.client):\(flow.clientPort) -> \(flow.target):\(flow.port)"
        }
        if let rule { text += (text.isEmpty ? "" : " ") + "(rule \(rule))" }
        text += ": expected \(expected), got \(actual)"
        if let hop { text += "; decided at \(hop)" }
        return text
    }
}

/// Checks simulated flows against the expectations: deliveries where and only where the
/// intent says, replies from the address the client used, and the distribution each
/// algorithm dictates (exact sequences for round robin, per-client stability for source
/// hashing and stickiness).
public enum Verifier {
    /// All violations of `results`; empty when every check holds.
    ///
    /// Flows are checked in consecutive parts on all cores, then each listener's deliveries;
    /// violations come in the order of one pass: flows in order, then listeners in order.
    public static func verify(_ results: FlowResults, against expectations: Expectations)
        -> [Violation]
    {
        FlowChecker(expectations).verify(results)
    }

    /// The listeners and static NATs by the address and port flows target.
    struct TargetIndex: Sendable {
        /// Listener positions by address << 16 | port.
        var listeners = UInt64Map<Int>()
        /// Static NAT positions by public address.
        var staticNATs = UInt64Map<Int>()

        init(_ expectations: Expectations) {
            for (index, listener) in expectations.listeners.enumerated() {
                listeners.set(
                    index, for: UInt64(listener.publicIP.value) << 16 | UInt64(listener.publicPort))
            }
            for (index, nat) in expectations.staticNATs.enumerated() {
                staticNATs.set(index, for: UInt64(nat.publicIP.value))
            }
        }
    }

    /// What checking some flows found: their violations, and each delivery to a listener
    /// reduced to what the listener's own checks need.
    public struct FlowChecks: Sendable {
        var violations: [Violation] = []
        /// The position of the flow of each violation.
        var violationPositions: [Int] = []
        var deliveries: [Delivery] = []
        /// The deciding hop of deliveries that have one (traced flows), by position.
        var hops: [Int: Hop] = [:]
        var probed: [Int] = []
        /// How many of the flows reached a VM (through a listener or a static NAT).
        public internal(set) var deliveredCount = 0
    }

    /// A delivery to a listener: the flow's position and the VM.
    struct Delivery: Sendable {
        var listener: Int
        var position: Int
        var vm: String
    }

    /// Checks flows part by part, each part on its own (parts may run on different cores and
    /// their results be dropped once checked), then joins the parts into the violations of
    /// one pass over all flows.
    public struct FlowChecker: Sendable {
        let expectations: Expectations
        let index: TargetIndex

        public init(_ expectations: Expectations) {
            self.expectations = expectations
            index = TargetIndex(expectations)
        }

        /// All violations of `results`, every flow of a run: flows checked in parts on all
        /// cores, then the listeners.
        public func verify(_ results: FlowResults) -> [Violation] {
            let parts = (0..<results.count).split(into: 64).concurrentMap { range in
                check(results, range, at: Array(range))
            }
            return violations(parts, flows: results.flows)
        }

        /// The per-flow checks of `results`, the flows at `positions` of the whole run.
        public func check(_ results: FlowResults, at positions: [Int]) -> FlowChecks {
            check(results, results.indices, at: positions)
        }

        /// The per-flow checks of the results in `range`, the flows at `positions`. (Not
        /// generic: unspecialized, its loop would spend more on type metadata than on checks.)
        private func check(_ results: FlowResults, _ range: Range<Int>, at positions: [Int])
            -> FlowChecks
        {
            var checks = FlowChecks()
            for (flow, position) in zip(range, positions) {
                Verifier.check(flow, of: results, at: position, expectations, index, &checks)
                while checks.violationPositions.count < checks.violations.count {
                    checks.violationPositions.append(position)
                }
            }
            return checks
        }

        /// All violations of the run: the parts' flow violations in flow order, then each
        /// listener's (never probed, or delivered against its algorithm or persistence).
        public func violations(_ parts: [FlowChecks], flows: [Flow]) -> [Violation] {
            let merged = Merged(parts, listeners: expectations.listeners.count)
            let listenerViolations = expectations.listeners.indices.split(into: 64).concurrentMap {
                range in
                var violations: [Violation] = []
                for index in range {
                    let listener = expectations.listeners[index]
                    if !merged.probed[index] {
                        violations.append(
                            Violation(
                                flow: nil, rule: listener.ruleID,
                                expected: "traffic to \(listener.publicIP):\(listener.publicPort)",
                                actual: "no flow probed it", hop: nil))
                    }
                    violations += checkDistribution(
                        listener,
                        merged.deliveries(of: index).map { delivery in
                            (
                                flows[delivery.position], delivery.vm,
                                merged.hops.isEmpty ? nil : merged.hops[delivery.position]
                            )
                        })
                }
                return violations
            }
            return merged.flowViolations + listenerViolations.joined()
        }
    }

    /// The parts of a run's checks joined: flow violations in flow order, and per listener
    /// its deliveries (positions and VMs) in flow order and whether any flow probed it.
    private struct Merged: Sendable {
        var flowViolations: [Violation]
        /// Every delivery, grouped by listener: listener `l`'s are at
        /// `firstDelivery[l]..<firstDelivery[l + 1]`. (Two flat arrays rather than an array
        /// per listener: a million listeners would mean two million small allocations.)
        private var deliveries: [Delivery]
        private var firstDelivery: [Int]
        var probed: [Bool]
        /// The deciding hop of traced deliveries, by position.
        var hops: [Int: Hop] = [:]

        init(_ parts: [FlowChecks], listeners: Int) {
            probed = [Bool](repeating: false, count: listeners)
            // Count each listener's deliveries, then place them after those of the listeners
            // before it. Each listener's keep the parts' order, which is flow order: a
            // listener's flows all run on one engine, part after part.
            var firstDelivery = [Int](repeating: 0, count: listeners + 1)
            for part in parts {
                for delivery in part.deliveries { firstDelivery[delivery.listener + 1] += 1 }
            }
            for listener in 0..<listeners { firstDelivery[listener + 1] += firstDelivery[listener] }
            var next = firstDelivery
            let placeholder = Delivery(listener: 0, position: 0, vm: "")
            deliveries = [Delivery](repeating: placeholder, count: firstDelivery[listeners])
            var found: [(position: Int, violation: Violation)] = []
            for part in parts {
                found += zip(part.violationPositions, part.violations).map { ($0, $1) }
                for delivery in part.deliveries {
                    deliveries[next[delivery.listener]] = delivery
                    next[delivery.listener] += 1
                }
                for listener in part.probed { probed[listener] = true }
                hops.merge(part.hops) { first, _ in first }
            }
            self.firstDelivery = firstDelivery
            // Parts may interleave (one per router): restore flow order, keeping each flow's
            // own violations in the order found.
            flowViolations = found.enumerated().sorted {
                ($0.element.position, $0.offset) < ($1.element.position, $1.offset)
            }.map(\.element.violation)
        }

        /// The deliveries to listener `listener`, in flow order.
        func deliveries(of listener: Int) -> ArraySlice<Delivery> {
            deliveries[firstDelivery[listener]..<firstDelivery[listener + 1]]
        }
    }

    /// The checks of the result at `flowIndex` of `results`, the flow at `position` of the
    /// run. (It reads the compact results directly: this runs for every flow.)
    private static func check(
        _ flowIndex: Int, of results: FlowResults, at position: Int,
        _ expectations: Expectations, _ index: TargetIndex, _ checks: inout FlowChecks
    ) {
        let flow = results.flows[flowIndex]
        let outcome = results.outcome(at: flowIndex)
        if outcome.deliveredVM != nil { checks.deliveredCount += 1 }
        /// A violation of this flow, with the hop that decided it when traced.
        func violation(rule: String?, expected: String, actual: String? = nil) {
            checks.violations.append(
                Violation(
                    flow: flow, rule: rule, expected: expected,
                    actual: actual ?? outcome.description,
                    hop: results.hops(at: flowIndex).last))
        }
        /// Replies must come from the address and port the client used.
        func checkReply(rule: String?) {
            let reply = results.replyFrom(at: flowIndex)
            if let reply, reply.address == flow.target, reply.port == flow.port { return }
            violation(
                rule: rule, expected: "replies from \(flow.target):\(flow.port)",
                actual: reply.map { "replies from \($0.address):\($0.port)" } ?? "no reply")
        }
        if let listenerIndex = index.listeners[UInt64(flow.target.value) << 16 | UInt64(flow.port)]
        {
            if checks.probed.last != listenerIndex { checks.probed.append(listenerIndex) }
            // Fields read in place: copying the listener would retain each of its arrays.
            let listeners = expectations.listeners
            let wanted = listeners[listenerIndex].delivers(to: flow.client)
            guard case .delivered(let vm, let address, let port, _) = outcome else {
                if wanted {
                    let running = listeners[listenerIndex].runningBackends.map(\.vmID)
                    violation(
                        rule: listeners[listenerIndex].ruleID,
                        expected: "delivery to one of \(running.joined(separator: ", "))")
                }
                return
            }
            guard wanted else {
                violation(
                    rule: listeners[listenerIndex].ruleID,
                    expected:
                        "no delivery (\(silenceReason(listeners[listenerIndex], flow.client)))")
                return
            }
            guard
                listeners[listenerIndex].runningBackends.contains(where: {
                    $0.vmID == vm && $0.address == address && $0.port == port
                })
            else {
                let running = listeners[listenerIndex].runningBackends.map {
                    "\($0.vmID) \($0.address):\($0.port)"
                }
                violation(
                    rule: listeners[listenerIndex].ruleID,
                    expected: "a running VM of the rule (\(running.joined(separator: ", ")))")
                return
            }
            checkReply(rule: listeners[listenerIndex].ruleID)
            checks.deliveries.append(Delivery(listener: listenerIndex, position: position, vm: vm))
            if let decidingHop = results.hops(at: flowIndex).last {
                checks.hops[position] = decidingHop
            }
        } else if let natIndex = index.staticNATs[UInt64(flow.target.value)] {
            let nat = expectations.staticNATs[natIndex]
            let wanted = nat.backend.running && nat.acl.admits(flow.client, port: flow.port)
            switch (wanted, outcome) {
            case (true, .delivered(let vm, _, let port, _))
            where vm == nat.backend.vmID && port == flow.port:
                checkReply(rule: nil)
            case (false, .delivered), (true, _):
                violation(
                    rule: nil,
                    expected: wanted
                        ? "delivery to \(nat.backend.vmID) by static NAT on port \(flow.port)"
                        : "no delivery (static NAT to \(nat.backend.vmID), ACL or VM state)")
            default: break
            }
        } else if case .delivered = outcome {
            violation(
                rule: nil, expected: "no delivery (no live rule on \(flow.target):\(flow.port))")
        }
    }

    private static func silenceReason(_ listener: Expectations.Listener, _ client: IPv4Address)
        -> String
    {
        if !listener.applianceRunning { return "appliance stopped" }
        if listener.runningBackends.isEmpty { return "no running VM" }
        if !listener.acl.admits(client, port: listener.publicPort) {
            return "tier ACL denies \(client)"
        }
        return "cidrlist excludes \(client)"
    }

    /// The order or stability the algorithm and stickiness dictate.
    ///
    /// `deliveries` are the listener's, in flow order: the flow, the VM it reached and the
    /// hop that decided (traced flows only).
    private static func checkDistribution(
        _ listener: Expectations.Listener, _ deliveries: [(flow: Flow, vm: String, hop: Hop?)]
    ) -> [Violation] {
        let running = listener.runningBackends.map(\.vmID)
        guard !deliveries.isEmpty, !running.isEmpty else { return [] }
        var violations: [Violation] = []
        func misplaced(_ delivery: (flow: Flow, vm: String, hop: Hop?), expected: String) {
            violations.append(
                Violation(
                    flow: delivery.flow, rule: listener.ruleID, expected: expected,
                    actual: "delivered to \(delivery.vm)", hop: delivery.hop))
        }
        if let stickiness = listener.stickiness {
            // Per-client stability: a returning client stays on its first VM.
            var firstVM: [IPv4Address: String] = [:]
            for delivery in deliveries
            where delivery.flow.returnsCookies || stickiness == "SourceBased" {
                if let first = firstVM[delivery.flow.client], first != delivery.vm {
                    misplaced(delivery, expected: "\(stickiness) persistence to \(first)")
                } else {
                    firstVM[delivery.flow.client] = delivery.vm
                }
            }
            return violations
        }
        switch listener.algorithm {
        case "source":
            for delivery in deliveries {
                let client = delivery.flow.client
                let expected =
                    running.count == 1
                    ? running[0] : running[Int(client.value % UInt32(running.count))]
                if delivery.vm != expected {
                    misplaced(delivery, expected: "source hash of \(client) to \(expected)")
                }
            }
        default:
            // roundrobin, and leastconn one connection at a time: declaration order, cycling.
            let sequential =
                listener.algorithm == "roundrobin"
                || Set(deliveries.map(\.flow.batch)).count == deliveries.count
            guard sequential else { return [] }
            for (position, delivery) in deliveries.enumerated() {
                let expected = running[position % running.count]
                if delivery.vm != expected {
                    misplaced(
                        delivery,
                        expected: "\(listener.algorithm) turn \(position + 1) to \(expected)")
                    break
                }
            }
        }
        return violations
    }
}
