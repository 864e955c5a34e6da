import Foundation
import InlineLBCompiler
import InlineLBCore
import Testing

@testable import InlineLBSimulator
@testable import InlineLBVerify

/// The package's root folder.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()

/// A compiled output folder of a bundled corpus, removed when the test ends.
private struct CompiledCorpus {
    let corpus: ValidatedCorpus
    let folder: String

    init(_ name: String) throws {
        try self.init(
            name,
            bytes: [UInt8](
                try Data(contentsOf: packageRoot.appendingPathComponent("corpora/\(name).json"))))
    }

    init(_ name: String, bytes: [UInt8]) throws {
        corpus = try CorpusValidator.load(file: name, bytes: bytes)
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "inlinelb-sim-\(UUID().uuidString)"
            ).path
        let compilation = try Compilation(
            corpus: corpus, inputFile: name, input: OutputFile.Artifact(of: bytes))
        try OutputWriter.replaceDirectory(folder, with: compilation.files)
    }

    /// Replaces `old` by `new` in one artifact; the text must occur exactly once.
    func mutate(_ file: String, replacing old: String, with new: String) throws {
        let path = folder + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.components(separatedBy: old).count == 2, "\(old) must occur once in \(file)")
        try text.replacingOccurrences(of: old, with: new).write(
            toFile: path, atomically: true, encoding: .utf8)
    }

    func verify(tracedFlows: Int = 0) throws -> CorpusVerification {
        try CorpusVerification(corpus: corpus, folder: folder, tracedFlows: tracedFlows)
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

/// The results of `flows` on an engine that traces every flow and on one that traces none
/// (and so reuses paths).
private func tracedAndUntraced(_ flows: [Flow], over deployment: SimulatedDeployment) -> (
    traced: FlowResults, untraced: FlowResults
) {
    var traced = FlowEngine(deployment: deployment)
    var untraced = FlowEngine(deployment: deployment, tracedFlows: 0)
    return (traced.run(flows), untraced.run(flows))
}

/// Expects two runs of the same flows to end each flow alike: outcome, persistence, listener
/// and the source of the replies.
private func expectSameEnds(_ first: FlowResults, _ second: FlowResults) {
    #expect(first.map(\.outcome) == second.map(\.outcome))
    #expect(first.map(\.persisted) == second.map(\.persisted))
    #expect(first.map(\.listener) == second.map(\.listener))
    #expect(
        first.map { $0.replyFrom.map { "\($0.address):\($0.port)" } }
            == second.map { $0.replyFrom.map { "\($0.address):\($0.port)" } })
}

@Suite("Simulated verification of the bundled corpora")
struct VerificationTests {
    static let corpora = [
        "algorithms-and-stickiness", "shared-appliance", "stopped", "tier-acls", "two-tiers",
        "ui-flow",
    ]

    @Test("every bundled corpus verifies clean", arguments: corpora)
    func verifiesClean(_ name: String) throws {
        let compiled = try CompiledCorpus(name)
        defer { compiled.remove() }
        let verification = try compiled.verify()
        #expect(
            verification.violations.isEmpty,
            "\(verification.violations.map(\.description).joined(separator: "\n"))")
        #expect(verification.flowCount > 0 && verification.deliveredCount > 0)
    }

    @Test func roundRobinAndStickinessDistributionsAreExact() throws {
        let compiled = try CompiledCorpus("algorithms-and-stickiness")
        defer { compiled.remove() }
        let results = try compiled.verify().results
        let roundRobin = results.filter {
            $0.flow.port == 80 && $0.flow.target.description == "203.0.113.20"
        }
        #expect(
            roundRobin.compactMap(\.outcome.deliveredVM).prefix(6) == [
                "vm-1", "vm-2", "vm-3", "vm-1", "vm-2", "vm-3",
            ])
        let cookie = results.filter {
            $0.flow.port == 8002 && $0.flow.target.description == "203.0.113.20"
        }
        var byClient: [IPv4Address: Set<String>] = [:]
        for result in cookie {
            byClient[result.flow.client, default: []].insert(result.outcome.deliveredVM ?? "-")
        }
        #expect(byClient.values.allSatisfy { $0.count == 1 })
        #expect(cookie.filter(\.persisted).count == cookie.count - byClient.count)
        let replies = results.filter { $0.outcome.deliveredVM != nil }
        #expect(
            replies.allSatisfy {
                $0.replyFrom?.address == $0.flow.target && $0.replyFrom?.port == $0.flow.port
            })
    }

    @Test func tracesNameEveryHopAndLine() throws {
        let compiled = try CompiledCorpus("ui-flow")
        defer { compiled.remove() }
        let delivered = try #require(
            try compiled.verify(tracedFlows: .max).results.first { $0.outcome.deliveredVM != nil })
        let steps = delivered.hops.map { "\($0.node) \($0.step)" }
        #expect(
            steps == [
                "router vpc-1 nat PREROUTING", "router vpc-1 routing",
                "router vpc-1 filter FORWARD",
                "appliance b-1-VM filter INPUT", "appliance b-1-VM haproxy",
                "appliance b-1-VM haproxy", "vm vm-1 accept",
                "router vpc-1 reply",
            ])
        #expect(delivered.hops[0].source?.description == "vpc-1/router.iptables:7")
        #expect(delivered.hops[2].source?.description == "vpc-1/router.iptables:24")
    }

    @Test func tracesDoNotChangeOutcomes() throws {
        let compiled = try CompiledCorpus("algorithms-and-stickiness")
        defer { compiled.remove() }
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        let (withTraces, without) = tracedAndUntraced(
            Traffic.probing(deployment).flows(), over: deployment)
        expectSameEnds(withTraces, without)
        #expect(without.allSatisfy(\.hops.isEmpty) && withTraces.allSatisfy { !$0.hops.isEmpty })
    }

    @Test func reusedPathsGiveTheOutcomesOfFullWalks() throws {
        // Untraced engines reuse a target's path for clients no rule looks at or indexes.
        // Rules here look at some clients (a narrowed ACL), index one client (a DROP by
        // source) and the replies to another (a DROP by destination); every client sends to
        // every target in turn, so a wrongly reused path would change an outcome.
        let compiled = try CompiledCorpus("tier-acls")
        defer { compiled.remove() }
        try compiled.mutate(
            "vpc-1/router.iptables",
            replacing: "-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\n",
            with: """
                -A FORWARD -s 198.51.100.7/32 -j DROP
                -A FORWARD -d 198.51.100.9/32 -j DROP
                -A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT

                """)
        try compiled.mutate(
            "vpc-1/router.iptables", replacing: "-s 198.51.100.0/24 -p tcp -m tcp --dport 443",
            with: "-s 198.51.100.0/25 -p tcp -m tcp --dport 443")
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        var traffic = Traffic.probing(deployment)
        let clients = ["198.51.100.3", "198.51.100.7", "198.51.100.9", "198.51.100.200"]
        for group in traffic.groups.indices {
            traffic.groups[group].clients = clients.map { IPv4Address($0)! }
            traffic.groups[group].count = 8
        }
        let (full, reused) = tracedAndUntraced(traffic.flows(), over: deployment)
        expectSameEnds(full, reused)
        func outcomes(from client: String) -> Set<String> {
            Set(
                full.filter { $0.flow.client.description == client }.map {
                    $0.outcome.description.components(separatedBy: " ").prefix(2).joined(
                        separator: " ")
                })
        }
        #expect(outcomes(from: "198.51.100.3").contains("delivered to"))
        #expect(
            outcomes(from: "198.51.100.7").contains("dropped: at")
                && !outcomes(from: "198.51.100.7").contains("delivered to"))
        #expect(outcomes(from: "198.51.100.9").contains("dropped: reply"))
        #expect(
            full.contains {
                $0.flow.client.description == "198.51.100.200" && $0.flow.port == 443
                    && $0.outcome.deliveredVM == nil
            })
        #expect(
            full.contains {
                $0.flow.client.description == "198.51.100.3" && $0.flow.port == 443
                    && $0.outcome.deliveredVM != nil
            })
    }

    @Test func parallelRunsGiveTheResultsOfOneEngine() throws {
        // Four VPCs with every algorithm and persistence kind (the generator's default mix).
        let generator = CorpusGenerator(rules: 2000, ipsPerVPC: 50)
        let compiled = try CompiledCorpus("generated", bytes: generator.generate())
        defer { compiled.remove() }
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        #expect(deployment.routers.count == 4)
        let flows = Traffic.probing(deployment).flows()
        var engine = FlowEngine(deployment: deployment)
        let sequential = engine.run(flows)
        let parallel = FlowEngine.run(flows, over: deployment)
        expectSameEnds(parallel, sequential)
        #expect(
            parallel.map { $0.hops.map(\.description) }
                == sequential.map { $0.hops.map(\.description) })
        #expect(Set(sequential.compactMap(\.outcome.deliveredVM)).count > 48)
    }

    @Test func streamingVerificationKeepsTheResultsOfOneEngine() throws {
        let generator = CorpusGenerator(rules: 2000, ipsPerVPC: 50)
        let bytes = generator.generate()
        let compiled = try CompiledCorpus("generated", bytes: bytes)
        defer { compiled.remove() }
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        var engine = FlowEngine(deployment: deployment, tracedFlows: 0)
        let corpus = try CorpusValidator.load(file: "generated.json", bytes: bytes)
        let flows = Traffic.probing(
            deployment, extraTargets: Expectations(corpus: corpus).probeTargets
        )
        .flows()
        let sequential = engine.run(flows)
        let verification = try CorpusVerification(corpus: corpus, folder: compiled.folder)
        #expect(verification.violations.isEmpty)
        #expect(verification.results.map(\.outcome) == sequential.map(\.outcome))
        #expect(verification.deliveredCount == sequential.count { $0.outcome.deliveredVM != nil })
        #expect(verification.deliveredCount == sequential.deliveredCount)
        let some = try CorpusVerification(corpus: corpus, folder: compiled.folder, keptResults: 100)
        #expect(some.results.map(\.outcome) == sequential.prefix(100).map(\.outcome))
        #expect(some.flowCount == sequential.count)
    }

    @Test func slicesEndWhereBatchesEnd() throws {
        // Batches of 1 to 4 connections; every other position, as a shard would hold.
        var flows: [Flow] = []
        for batch in 0..<500 {
            for _ in 0..<(1 + batch % 4) {
                flows.append(
                    Flow(
                        id: flows.count, client: IPv4Address(1), clientPort: 1024,
                        target: IPv4Address(2), port: 80, batch: batch))
            }
        }
        let positions = Array(stride(from: 0, to: flows.count, by: 2))
        let slices = CorpusVerification.slices(of: positions, in: flows, length: 7)
        #expect(Array(slices.joined()) == positions)
        #expect(slices.count > 20)
        for (slice, next) in zip(slices, slices.dropFirst()) {
            #expect(slice.count >= 7)
            #expect(flows[slice.last!].batch != flows[next.first!].batch)
        }
    }

    @Test func trafficIsDeterministicPerSeed() throws {
        let compiled = try CompiledCorpus("shared-appliance")
        defer { compiled.remove() }
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        let first = Traffic.probing(deployment, seed: 7).flows()
        let again = Traffic.probing(deployment, seed: 7).flows()
        let other = Traffic.probing(deployment, seed: 8).flows()
        #expect(
            first.map(\.client) == again.map(\.client)
                && first.map(\.clientPort) == again.map(\.clientPort))
        #expect(first.map(\.clientPort) != other.map(\.clientPort))
        #expect(first.allSatisfy { Traffic.defaultClientNetwork.contains($0.client) })
        // A group's clients are distinct, told apart by a scan (few) or a set (many), also
        // when draws collide: 6 of the 6 hosts of a /29, 40 of the 62 of a /26.
        for (clientCount, network) in [(6, "198.51.100.0/29"), (40, "198.51.100.64/26")] {
            let group = Traffic.Group(
                target: IPv4Address("203.0.113.10")!, port: 80, count: 400,
                clientCount: clientCount, clientNetwork: IPv4Network(network)!)
            let clients = Traffic(seed: 3, groups: [group]).flows().map(\.client)
            #expect(Set(clients.prefix(clientCount)).count == clientCount)
            #expect(Set(clients).count == clientCount)
        }
    }

    /// A seed names the same flows in every release: ids, clients, ports and batches of a
    /// traffic of many groups (so drawn in parts), pinned by their digest.
    @Test func trafficOfASeedStaysTheSame() {
        let groups = (0..<300).map { index in
            Traffic.Group(
                target: IPv4Address(0xCB00_7100 + UInt32(index % 40)), port: 80 + index % 7,
                count: 1 + index % 13, clientCount: 1 + index % 9,
                concurrency: 1 + index % 4, returnsCookies: index % 5 != 0)
        }
        let flows = Traffic(seed: 11, groups: groups).flows()
        var bytes: [UInt8] = []
        for flow in flows {
            for field in [
                flow.id, Int(flow.client.value), flow.clientPort, Int(flow.target.value),
                flow.port, flow.returnsCookies ? 1 : 0, flow.batch,
            ] {
                withUnsafeBytes(of: UInt64(field).littleEndian) { bytes += $0 }
            }
        }
        #expect(flows.count == groups.reduce(0) { $0 + $1.count })
        #expect(Digest.hex(Digest.xxh3(bytes)) == "bf5826c96170ce70")
    }

    /// leastconn breaks ties first in, first out (REFERENCE.md §5): a batch's connections
    /// must be released in the order they were opened, or the next batch starts elsewhere.
    @Test func leastconnBatchesReleaseInTheOrderOpened() throws {
        let compiled = try CompiledCorpus("algorithms-and-stickiness")
        defer { compiled.remove() }
        let deployment = try SimulatedDeployment(folder: compiled.folder)
        let text =
            #"{"format": "inlinelb-traffic/1", "seed": 5, "flows": [{"target": "203.0.113.20:8000", "count": 12, "clients": ["198.51.100.7"], "concurrency": 2, "cookies": false}]}"#
        let flows = try Traffic(bytes: Array(text.utf8), file: "t.json").flows()
        var engine = FlowEngine(deployment: deployment, tracedFlows: 0)
        let vms = engine.run(flows).map(\.outcome.deliveredVM)
        // Pairs of connections over three idle servers cycle as round robin would:
        // vm-1 vm-2 | vm-3 vm-1 | vm-2 vm-3 | ...
        #expect(vms == (0..<12).map { "vm-\($0 % 3 + 1)" })
    }

    @Test func trafficFilesAreReadAndChecked() throws {
        let text =
            #"{"format": "inlinelb-traffic/1", "seed": 3, "flows": [{"target": "203.0.113.10:80", "count": 4, "clients": ["198.51.100.7"], "concurrency": 2, "cookies": false}]}"#
        let traffic = try Traffic(bytes: Array(text.utf8), file: "t.json")
        let flows = traffic.flows()
        #expect(
            flows.count == 4
                && flows.allSatisfy {
                    $0.client.description == "198.51.100.7" && !$0.returnsCookies
                })
        #expect(flows.map(\.batch) == [1, 1, 2, 2])
        #expect(throws: ArtifactError.self) {
            try Traffic(
                bytes: Array(#"{"format": "inlinelb-traffic/1", "flows": [{"target": "x"}]}"#.utf8),
                file: "t.json")
        }
    }
}

/// Break one thing in a correct output folder and require the specific violation.
@Suite("Mutations the verifier must catch")
struct MutationTests {
    private func violations(_ name: String, _ mutation: (CompiledCorpus) throws -> Void) throws
        -> [Violation]
    {
        let compiled = try CompiledCorpus(name)
        defer { compiled.remove() }
        #expect(try compiled.verify().violations.isEmpty)
        try mutation(compiled)
        return try compiled.verify().violations
    }

    @Test func aDroppedDNATLineLosesTheRule() throws {
        let found = try violations("ui-flow") {
            try $0.mutate(
                "vpc-1/router.iptables",
                replacing: "-A PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination 10.1.1.3\n",
                with: "")
        }
        #expect(
            found.contains {
                $0.rule == "lb-http" && $0.actual.contains("filter INPUT")
                    && $0.expected.contains("vm-1")
            })
    }

    @Test func swappedSecondaryIPsSendTrafficToTheWrongListener() throws {
        let found = try violations("shared-appliance") {
            try $0.mutate(
                "vpc-1/router.iptables",
                replacing: "-A PREROUTING -d 203.0.113.11/32 -j DNAT --to-destination 10.1.1.3",
                with: "-A PREROUTING -d 203.0.113.11/32 -j DNAT --to-destination 10.1.1.4")
        }
        #expect(
            found.contains {
                $0.rule == "lb-a-http"
                    && $0.hop?.source?.description.hasSuffix("iptables.rules:3") == true
            })
        #expect(found.contains { $0.rule == "lb-a-app" })
    }

    @Test func aDeletedServerLineBreaksTheRoundRobinOrder() throws {
        let found = try violations("algorithms-and-stickiness") {
            try $0.mutate(
                "vpc-1/tier-web/b-1-VM/haproxy.cfg",
                replacing: "\tserver 10_1_1_3-80_1 10.1.1.12:8080 check inter 5000 rise 2 fall 3\n",
                with: "")
        }
        #expect(
            found.contains {
                $0.rule == "lb-rr" && $0.expected == "roundrobin turn 2 to vm-2"
                    && $0.actual == "delivered to vm-3"
            })
    }

    @Test func aChangedBindPortLeavesNoListener() throws {
        let found = try violations("ui-flow") {
            try $0.mutate(
                "vpc-1/tier-web/b-1-VM/haproxy.cfg", replacing: "\tbind 10.1.1.3:80\n",
                with: "\tbind 10.1.1.3:81\n")
        }
        #expect(
            found.contains {
                $0.rule == "lb-http" && $0.actual.contains("no HAProxy listener on 10.1.1.3:80")
            })
    }

    @Test func aFlippedACLVerdictIsBlamedOnItsLine() throws {
        let found = try violations("tier-acls") {
            try $0.mutate(
                "vpc-1/router.iptables",
                replacing: "-A ACL_INBOUND_eth2 -s 0.0.0.0/0 -p tcp -m tcp --dport 80:80 -j ACCEPT",
                with: "-A ACL_INBOUND_eth2 -s 0.0.0.0/0 -p tcp -m tcp --dport 80:80 -j DROP")
        }
        #expect(
            found.contains {
                $0.rule == "lb-http" && $0.hop?.source?.description == "vpc-1/router.iptables:25"
            })
    }

    @Test func aStoppedVMIsSkippedAndTheOrderChanges() throws {
        let found = try violations("shared-appliance") {
            try $0.mutate(
                "topology.json",
                replacing:
                    "\"name\": \"web2\",\n              \"ipaddress\": \"10.1.1.12\",\n              \"state\": \"Running\"",
                with:
                    "\"name\": \"web2\",\n              \"ipaddress\": \"10.1.1.12\",\n              \"state\": \"Stopped\""
            )
        }
        #expect(
            found.contains { $0.rule == "lb-a-http" && $0.expected == "roundrobin turn 2 to vm-2" })
        #expect(found.contains { $0.rule == "lb-b-https" })
    }

    @Test func aMissingEstablishedRuleDropsTheReplies() throws {
        let found = try violations("ui-flow") {
            try $0.mutate(
                "vpc-1/router.iptables",
                replacing: "-A FORWARD -m state --state RELATED,ESTABLISHED -j ACCEPT\n", with: "")
        }
        #expect(found.contains { $0.rule == "lb-http" && $0.actual.contains("reply dropped") })
    }

    @Test func anUnmodelledDirectiveIsReportedNotIgnored() throws {
        let compiled = try CompiledCorpus("ui-flow")
        defer { compiled.remove() }
        try compiled.mutate(
            "vpc-1/tier-web/b-1-VM/haproxy.cfg", replacing: "\tbalance roundrobin\n",
            with: "\tbalance roundrobin\n\thttp-request deny\n")
        do {
            _ = try compiled.verify()
            Issue.record("accepted an unmodelled directive")
        } catch {
            #expect(
                "\(error)"
                    == "vpc-1/tier-web/b-1-VM/haproxy.cfg:35: unmodelled directive 'http-request'")
        }
    }
}
