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
    public static func verify(_ results: [FlowResult], against expectations: Expectations)
        -> [Violation]
    {
        let index = TargetIndex(expectations)
        let parts = (0..<results.count).split(into: 64).concurrentMap { range in
            checkFlows(results, range, expectations, index)
        }
        let (flowViolations, deliveredPerListener, probed) = merge(
            parts, listeners: expectations.listeners.count)
        let listenerViolations = (0..<expectations.listeners.count).split(into: 64)
            .concurrentMap { range in
                var violations: [Violation] = []
                for listenerIndex in range {
                    let listener = expectations.listeners[listenerIndex]
                    if !probed[listenerIndex] {
                        violations.append(
                            Violation(
                                flow: nil, rule: listener.ruleID,
                                expected: "traffic to \(listener.publicIP):\(listener.publicPort)",
                                actual: "no flow probed it", hop: nil))
                    }
                    violations += checkDistribution(
                        listener, deliveredPerListener[listenerIndex].map { results[$0] })
                }
                return violations
            }
        return flowViolations + listenerViolations.joined()
    }

    /// The parts' violations in order; per listener, the positions in the results of its
    /// deliveries in flow order (positions, not copies: a million-rule probe has twelve
    /// million results), and whether any flow probed it.
    private static func merge(_ parts: [FlowChecks], listeners: Int) -> (
        violations: [Violation], deliveredPerListener: [[Int]], probed: [Bool]
    ) {
        var deliveredPerListener = [[Int]](repeating: [], count: listeners)
        var probed = [Bool](repeating: false, count: listeners)
        var violations: [Violation] = []
        for part in parts {
            violations += part.violations
            for (listener, position) in part.deliveries {
                deliveredPerListener[listener].append(position)
            }
            for listener in part.probed { probed[listener] = true }
        }
        return (violations, deliveredPerListener, probed)
    }

    /// The listeners and static NATs by the address and port flows target.
    private struct TargetIndex: Sendable {
        /// Listener positions by address << 16 | port.
        var listeners: [UInt64: Int] = [:]
        /// Static NAT positions by public address.
        var staticNATs: [IPv4Address: Int] = [:]

        init(_ expectations: Expectations) {
            for (index, listener) in expectations.listeners.enumerated() {
                listeners[UInt64(listener.publicIP.value) << 16 | UInt64(listener.publicPort)] =
                    index
            }
            for (index, nat) in expectations.staticNATs.enumerated() {
                staticNATs[nat.publicIP] = index
            }
        }
    }

    /// What checking some flows found: violations, deliveries to listeners as (listener,
    /// position) in flow order, and the listeners probed.
    private struct FlowChecks: Sendable {
        var violations: [Violation] = []
        var deliveries: [(listener: Int, position: Int)] = []
        var probed: [Int] = []
    }

    /// The per-flow checks of `results[range]`.
    private static func checkFlows(
        _ results: [FlowResult], _ range: Range<Int>, _ expectations: Expectations,
        _ index: TargetIndex
    ) -> FlowChecks {
        var checks = FlowChecks()
        for position in range {
            let result = results[position]
            let flow = result.flow
            let decidingHop = result.hops.last
            if let index = index.listeners[UInt64(flow.target.value) << 16 | UInt64(flow.port)] {
                let listener = expectations.listeners[index]
                checks.probed.append(index)
                let wanted = listener.delivers(to: flow.client)
                guard case .delivered(let vm, let address, let port, _) = result.outcome else {
                    if wanted {
                        checks.violations.append(
                            Violation(
                                flow: flow, rule: listener.ruleID,
                                expected:
                                    "delivery to one of \(listener.runningBackends.map(\.vmID).joined(separator: ", "))",
                                actual: result.outcome.description, hop: decidingHop))
                    }
                    continue
                }
                guard wanted else {
                    checks.violations.append(
                        Violation(
                            flow: flow, rule: listener.ruleID,
                            expected: "no delivery (\(silenceReason(listener, flow.client)))",
                            actual: result.outcome.description, hop: decidingHop))
                    continue
                }
                guard
                    listener.runningBackends.contains(where: {
                        $0.vmID == vm && $0.address == address && $0.port == port
                    })
                else {
                    checks.violations.append(
                        Violation(
                            flow: flow, rule: listener.ruleID,
                            expected:
                                "a running VM of the rule (\(listener.runningBackends.map { "\($0.vmID) \($0.address):\($0.port)" }.joined(separator: ", ")))",
                            actual: result.outcome.description, hop: decidingHop))
                    continue
                }
                checkReply(
                    result, expectedFrom: (listener.publicIP, listener.publicPort),
                    rule: listener.ruleID, &checks.violations)
                checks.deliveries.append((index, position))
            } else if let index = index.staticNATs[flow.target] {
                let nat = expectations.staticNATs[index]
                let wanted = nat.backend.running && nat.acl.admits(flow.client, port: flow.port)
                switch (wanted, result.outcome) {
                case (true, .delivered(let vm, _, let port, _))
                where vm == nat.backend.vmID && port == flow.port:
                    checkReply(
                        result, expectedFrom: (nat.publicIP, flow.port), rule: nil,
                        &checks.violations)
                case (false, .delivered):
                    checks.violations.append(
                        Violation(
                            flow: flow, rule: nil,
                            expected:
                                "no delivery (static NAT to \(nat.backend.vmID), ACL or VM state)",
                            actual: result.outcome.description, hop: decidingHop))
                case (true, _):
                    checks.violations.append(
                        Violation(
                            flow: flow, rule: nil,
                            expected:
                                "delivery to \(nat.backend.vmID) by static NAT on port \(flow.port)",
                            actual: result.outcome.description, hop: decidingHop))
                default: break
                }
            } else if case .delivered = result.outcome {
                checks.violations.append(
                    Violation(
                        flow: flow, rule: nil,
                        expected: "no delivery (no live rule on \(flow.target):\(flow.port))",
                        actual: result.outcome.description, hop: decidingHop))
            }
        }
        return checks
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

    private static func checkReply(
        _ result: FlowResult, expectedFrom: (IPv4Address, Int), rule: String?,
        _ violations: inout [Violation]
    ) {
        guard let reply = result.replyFrom, reply.address == expectedFrom.0,
            reply.port == expectedFrom.1
        else {
            violations.append(
                Violation(
                    flow: result.flow, rule: rule,
                    expected: "replies from \(expectedFrom.0):\(expectedFrom.1)",
                    actual: result.replyFrom.map { "replies from \($0.address):\($0.port)" }
                        ?? "no reply",
                    hop: result.hops.last))
            return
        }
    }

    /// The order or stability the algorithm and stickiness dictate.
    private static func checkDistribution(
        _ listener: Expectations.Listener, _ results: [FlowResult]
    ) -> [Violation] {
        let running = listener.runningBackends.map(\.vmID)
        guard !results.isEmpty, !running.isEmpty else { return [] }
        var violations: [Violation] = []
        func misplaced(_ result: FlowResult, expected: String) {
            violations.append(
                Violation(
                    flow: result.flow, rule: listener.ruleID, expected: expected,
                    actual: "delivered to \(result.outcome.deliveredVM!)", hop: result.hops.last))
        }
        if let stickiness = listener.stickiness {
            // Per-client stability: a returning client stays on its first VM.
            var firstVM: [IPv4Address: String] = [:]
            for result in results where result.flow.returnsCookies || stickiness == "SourceBased" {
                let vm = result.outcome.deliveredVM!
                if let first = firstVM[result.flow.client], first != vm {
                    misplaced(result, expected: "\(stickiness) persistence to \(first)")
                } else {
                    firstVM[result.flow.client] = vm
                }
            }
            return violations
        }
        switch listener.algorithm {
        case "source":
            for result in results {
                let expected =
                    running.count == 1
                    ? running[0] : running[Int(result.flow.client.value % UInt32(running.count))]
                if result.outcome.deliveredVM != expected {
                    misplaced(
                        result, expected: "source hash of \(result.flow.client) to \(expected)")
                }
            }
        default:
            // roundrobin, and leastconn one connection at a time: declaration order, cycling.
            let sequential =
                listener.algorithm == "roundrobin"
                || Set(results.map(\.flow.batch)).count == results.count
            guard sequential else { return [] }
            for (position, result) in results.enumerated() {
                let expected = running[position % running.count]
                if result.outcome.deliveredVM != expected {
                    misplaced(
                        result,
                        expected: "\(listener.algorithm) turn \(position + 1) to \(expected)")
                    break
                }
            }
        }
        return violations
    }
}
