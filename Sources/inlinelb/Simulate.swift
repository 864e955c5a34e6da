import ArgumentParser
import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate traffic through a compiled output folder, reading only its artifacts.",
        discussion: """
            Loads OUT/topology.json, every router.iptables, haproxy.cfg, iptables.rules and
            addresses.json, then sends the traffic (a traffic file, or by default a probe of
            every public address on every listener port and on ports nothing listens on)
            through static NAT, the router's filter and tier ACLs, the appliance firewall and
            HAProxy's balancing, and prints where each listener's connections went.

            Traffic file (inlinelb-traffic/1):
              {"format": "inlinelb-traffic/1", "seed": 7, "flows": [
                {"target": "203.0.113.10:80", "count": 12, "clients": 4, "cookies": true},
                {"target": "203.0.113.10:8000", "count": 6, "concurrency": 3}]}

            Examples:
              inlinelb simulate out/ui-flow
              inlinelb simulate out/ui-flow --traffic traffic.json --trace 3
            """)

    @Argument(help: "A folder written by `inlinelb compile` (one corpus).")
    var output: String

    @Option(help: "A traffic file (inlinelb-traffic/1); default: probe everything.")
    var traffic: String?

    @Option(help: "Print the hop-by-hop trace of the first N flows.")
    var trace = 0

    @Option(help: "Report style: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Write every flow's result and trace to this file, one JSON object a line.")
    var flowsJson: String?

    @Option(help: "Write the traffic used (the default probe unless --traffic) as a traffic file.")
    var writeTraffic: String?

    func run() throws {
        let deployment: SimulatedDeployment
        let plan: Traffic
        do {
            deployment = try SimulatedDeployment(folder: output)
        } catch {
            printError("inlinelb: \(output)/\(error)")
            throw ExitStatus.dataError
        }
        if let traffic {
            do {
                plan = try Traffic(bytes: try readInput(traffic), file: traffic)
            } catch let error as ArtifactError {
                printError("inlinelb: \(error)")
                throw ExitStatus.dataError
            }
        } else {
            plan = Traffic.probing(deployment)
        }
        // Traces cost more than the flows: record only those that will be shown or written.
        let results = FlowEngine.run(
            plan.flows(), over: deployment, tracedFlows: flowsJson != nil ? .max : trace)
        do {
            if let writeTraffic { try OutputWriter.replaceFile(writeTraffic, with: plan.document) }
            if let flowsJson {
                var out = ByteWriter(capacity: results.count * 600)
                for result in results {
                    result.json.write(to: &out, pretty: false)
                    out.newline()
                }
                try OutputWriter.replaceFile(flowsJson, with: out.bytes)
            }
        } catch {
            printError("inlinelb: \(error)")
            throw ExitStatus.cannotCreate
        }
        printReport(results, trace: trace, format: format)
    }
}

/// Prints outcomes per target and the first `trace` traces.
func printReport(_ results: some Collection<FlowResult>, trace: Int, format: OutputFormat) {
    var order: [String] = []
    var byTarget: [String: [FlowResult]] = [:]
    for result in results {
        let key = "\(result.flow.target):\(result.flow.port)"
        if byTarget[key] == nil { order.append(key) }
        byTarget[key, default: []].append(result)
    }
    switch format {
    case .json:
        let document = JSONOutput.array(
            order.map { key in
                let group = byTarget[key]!
                var counts: [String: Int] = [:]
                for result in group { counts[summary(result.outcome), default: 0] += 1 }
                return .object([
                    ("target", .string(key)), ("flows", .int(group.count)),
                    (
                        "outcomes",
                        .object(counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
                    ),
                    (
                        "sequence",
                        .array(group.compactMap { $0.outcome.deliveredVM.map(JSONOutput.string) })
                    ),
                ])
            })
        print(String(decoding: document.document, as: UTF8.self), terminator: "")
    case .text:
        for key in order {
            let group = byTarget[key]!
            var counts: [String: Int] = [:]
            for result in group { counts[summary(result.outcome), default: 0] += 1 }
            let parts = counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            print(
                "\(pad(key, 22, left: true)) \(pad("\(group.count)", 4)) flows  \(parts.joined(separator: ", "))"
            )
        }
        let delivered = results.count { $0.outcome.deliveredVM != nil }
        print("\(results.count) flows, \(delivered) delivered, \(byTarget.count) targets")
    }
    for result in results.prefix(trace) {
        print(
            "\nflow #\(result.flow.id) \(result.flow.client):\(result.flow.clientPort) -> \(result.flow.target):\(result.flow.port): \(result.outcome)"
        )
        for hop in result.hops { print("  \(hop)") }
    }
}

/// A short class of an outcome for counting.
func summary(_ outcome: Outcome) -> String {
    switch outcome {
    case .delivered(let vm, _, _, _): "\(vm)"
    case .refused: "refused"
    case .dropped: "dropped"
    case .failed: "failed"
    }
}
