import Foundation
import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator
import InlineLBVerify
import Testing

/// Properties that hold for every valid corpus, checked on seeded random ones: random sizes
/// and shapes from the generator, then random revocations, emptied rules and removals.
@Suite("properties of random corpora")
struct PropertyTests {
    /// Deterministic draws: the XXH3 of a counter under a seed.
    private struct Random {
        let seed: UInt64
        private var counter: UInt64 = 0
        init(state: UInt64) { seed = state }
        mutating func next() -> UInt64 {
            counter += 1
            return withUnsafeBytes(of: counter) { Digest.xxh3($0, seed: seed) }
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
        mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }
    }

    /// A random valid corpus.
    private func randomCorpus(_ random: inout Random) -> [UInt8] {
        let vmsPerRule = random.int(1...4)
        return CorpusGenerator(
            rules: random.int(20...300), vmsPerRule: vmsPerRule, seed: random.next(),
            tiersPerVPC: random.int(1...3), vmsPerTier: random.int(vmsPerRule...12),
            ipsPerVPC: random.int(2...20), rulesPerIP: random.int(1...8)
        ).generate()
    }

    /// The corpus with some rules revoked, some left without VMs and some removed; with
    /// `keepRules` false, with no rules at all.
    private func variant(of bytes: [UInt8], _ random: inout Random, keepRules: Bool = true)
        throws -> [UInt8]
    {
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        var rules: [[String: Any]] = []
        for case var rule as [String: Any] in document["loadbalancerrules"] as? [Any] ?? []
        where keepRules && !random.chance(15) {
            if random.chance(20) { rule["state"] = "Revoke" }
            if random.chance(10) { rule["virtualmachineids"] = [String]() }
            rules.append(rule)
        }
        document["loadbalancerrules"] = rules
        return [UInt8](try JSONSerialization.data(withJSONObject: document))
    }

    private func load(_ bytes: [UInt8]) throws -> ValidatedCorpus {
        try CorpusValidator.load(file: "random.json", bytes: bytes)
    }

    /// Every listener the appliances serve, by public address and port, with its algorithm
    /// and backends: the artifacts' meaning, apart from the addresses the pools chose.
    private func listeners(_ plan: Plan) -> Set<String> {
        var result = Set<String>()
        for appliance in plan.appliances {
            for rule in appliance.config.rules {
                let servers = rule.destinations.map { "\($0.address):\($0.port)" }
                result.insert(
                    "\(appliance.record.networkID) \(rule.publicIP):\(rule.sourcePort) \(rule.algorithm) \(servers)"
                )
            }
        }
        return result
    }

    /// No address is held twice: per tier, the appliance's guest and secondary addresses are
    /// distinct, inside the tier, and neither the gateway nor a VM's; link-local ones too.
    private func expectNoAddressHeldTwice(_ state: DeploymentState, _ corpus: ValidatedCorpus) {
        var linkLocal = Set<IPv4Address>()
        for record in state.appliances {
            #expect(linkLocal.insert(record.linkLocalIP).inserted, "\(record.linkLocalIP) twice")
            let tierPosition = corpus.tierIndex[record.networkID]!
            let tier = corpus.corpus.networks[tierPosition]
            var held = Set(corpus.nicsOfTier[tierPosition].map(\.address))
            held.insert(tier.gateway)
            for address in [record.guestIP] + record.mappings.map(\.secondaryIP) {
                #expect(tier.cidr.contains(address), "\(address) outside \(tier.cidr)")
                #expect(held.insert(address).inserted, "\(address) held twice in \(tier.id)")
            }
        }
    }

    /// Compiles into a temporary folder and verifies it against the corpus.
    private func verify(_ corpus: ValidatedCorpus, bytes: [UInt8], state: DeploymentState)
        throws -> CorpusVerification
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "inlinelb-property-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let compilation = try Compilation(
            corpus: corpus, inputFile: "random.json", input: OutputFile.Artifact(of: bytes),
            state: state)
        try OutputWriter.replaceDirectory(folder, with: compilation.files)
        return try CorpusVerification(corpus: corpus, folder: folder)
    }

    @Test("compile then verify is clean, and output is byte-identical", arguments: 0..<6)
    func compileVerifyAndDeterminism(seed: UInt64) throws {
        var random = Random(state: seed)
        let bytes = try variant(of: randomCorpus(&random), &random)
        let corpus = try load(bytes)
        let first = try Compilation(
            corpus: corpus, inputFile: "random.json", input: OutputFile.Artifact(of: bytes))
        let again = try Compilation(
            corpus: try load(bytes), inputFile: "random.json", input: OutputFile.Artifact(of: bytes)
        )
        #expect(first.files.map(\.path) == again.files.map(\.path))
        #expect(first.files.map(\.bytes) == again.files.map(\.bytes))
        let verification = try verify(corpus, bytes: bytes, state: .empty)
        #expect(verification.violations.isEmpty, "\(verification.violations.prefix(3))")
        #expect(verification.flowCount > 0)
    }

    @Test("applying A then B keeps B's mappings and means what compiling B means", arguments: 0..<6)
    func applyingAThenB(seed: UInt64) throws {
        var random = Random(state: 100 + seed)
        let bytesA = try variant(of: randomCorpus(&random), &random)
        let bytesB = try variant(of: bytesA, &random)
        let (a, b) = (try load(bytesA), try load(bytesB))
        let planA = try Planner.plan(state: .empty, corpus: a)
        let planAB = try Planner.plan(state: planA.state, corpus: b)
        let planB = try Planner.plan(state: .empty, corpus: b)
        expectNoAddressHeldTwice(planA.state, a)
        expectNoAddressHeldTwice(planAB.state, b)

        // Every public IP mapped under A and still live under B keeps its secondary address.
        var before: [String: IPv4Address] = [:]
        for record in planA.state.appliances {
            for mapping in record.mappings { before[mapping.publicIPID] = mapping.secondaryIP }
        }
        for record in planAB.state.appliances {
            for mapping in record.mappings where before[mapping.publicIPID] != nil {
                #expect(mapping.secondaryIP == before[mapping.publicIPID], "\(mapping.publicIPID)")
            }
        }
        #expect(listeners(planAB) == listeners(planB))
        #expect(
            Set(planAB.state.appliances.map(\.networkID))
                == Set(planB.state.appliances.map(\.networkID)))
        let mappedAfterAB = planAB.state.appliances.reduce(0) { $0 + $1.mappings.count }
        let mappedInB = planB.state.appliances.reduce(0) { $0 + $1.mappings.count }
        #expect(mappedAfterAB == mappedInB)
        let verification = try verify(b, bytes: bytesB, state: planA.state)
        #expect(verification.violations.isEmpty, "\(verification.violations.prefix(3))")
    }

    @Test("applying a corpus without rules releases everything", arguments: 0..<4)
    func applyingNothingReleasesEverything(seed: UInt64) throws {
        var random = Random(state: 200 + seed)
        let bytes = try variant(of: randomCorpus(&random), &random)
        let empty = try load(try variant(of: bytes, &random, keepRules: false))
        let planA = try Planner.plan(state: .empty, corpus: try load(bytes))
        let released = try Planner.plan(state: planA.state, corpus: empty)
        let fresh = try Planner.plan(state: .empty, corpus: empty)
        #expect(released.state.appliances.isEmpty)
        #expect(released.appliances.isEmpty)
        #expect(released.pools.map(\.name) == fresh.pools.map(\.name))
        #expect(released.pools.map(\.free) == fresh.pools.map(\.free))
        let destroyed = released.actions.filter { $0.kind == .destroyAppliance }.count
        #expect(destroyed == planA.state.appliances.count)
    }
}
