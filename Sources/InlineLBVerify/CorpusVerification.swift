import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator
import Synchronization

/// Compile, simulate, verify: the proof that a corpus's artifacts do what it says.
public struct CorpusVerification: Sendable {
    /// How many flows were simulated.
    public var flowCount: Int
    /// How many of them reached a VM.
    public var deliveredCount: Int
    /// How many live rules were checked.
    public var ruleCount: Int
    public var violations: [Violation]
    /// The results of the first `keptResults` flows, or of every flow when a check failed.
    public var results: [FlowResult]

    /// Simulates the default probing traffic (plus every target the corpus mentions) over
    /// the output folder `folder` and checks it against the corpus's intent.
    ///
    /// Flows are simulated without traces, on all cores, and checked slice by slice as they
    /// are simulated, so that a run holds only the results it keeps: the first
    /// `keptResults`, of which the first `tracedFlows` carry their traces. When a check fails,
    /// the run is repeated with every trace and every result kept, so that each violation
    /// names the hop that decided it (the simulation is deterministic).
    ///
    /// `progress`, when given, is called from the simulating threads after each slice with
    /// the flows checked so far and the flows in all.
    public init(
        corpus: ValidatedCorpus, folder: String, seed: UInt64 = 1, tracedFlows: Int = 0,
        keptResults: Int = .max,
        progress: (@Sendable (_ checked: Int, _ total: Int) -> Void)? = nil
    ) throws(ArtifactError) {
        let deployment = try SimulatedDeployment(folder: folder)
        let expectations = Expectations(corpus: corpus)
        let flows = Traffic.probing(
            deployment, extraTargets: expectations.probeTargets, seed: seed
        ).flows()
        let checker = Verifier.FlowChecker(expectations)
        let kept = min(keptResults, flows.count)
        let checked = FlowCount()
        let shards = FlowEngine.shards(of: flows, over: deployment).concurrentMap { positions in
            var engine = FlowEngine(deployment: deployment, tracedFlows: min(tracedFlows, kept))
            var checks: [Verifier.FlowChecks] = []
            var keptHere: [(position: Int, result: FlowResult)] = []
            for slice in CorpusVerification.slices(of: positions, in: flows).map(Array.init) {
                let results = engine.run(slice.map { flows[$0] }, positions: slice)
                checks.append(checker.check(results, at: slice))
                if let progress {
                    progress(checked.add(slice.count), flows.count)
                }
                for (position, result) in zip(slice, results) where position < kept {
                    keptHere.append((position, result))
                }
            }
            return (checks, keptHere)
        }
        violations = checker.violations(shards.flatMap(\.0), flows: flows)
        if violations.isEmpty {
            results = shards.flatMap(\.1).sorted { $0.position < $1.position }.map(\.result)
            deliveredCount = shards.reduce(0) { $0 + $1.0.reduce(0) { $0 + $1.deliveredCount } }
        } else {
            let all = FlowEngine.run(flows, over: deployment)
            violations = checker.verify(all)
            deliveredCount = all.deliveredCount
            results = Array(all)
        }
        flowCount = flows.count
        ruleCount = expectations.listeners.count
    }

    /// `positions` cut into slices of at least `length` flows (the last may be shorter),
    /// each ending where a batch does: an engine closes a batch's connections at the end of
    /// a slice, as it would at the start of the next batch.
    static func slices(of positions: [Int], in flows: [Flow], length: Int = 65_536)
        -> [ArraySlice<Int>]
    {
        var slices: [ArraySlice<Int>] = []
        var start = 0
        while start < positions.count {
            var end = min(start + max(1, length), positions.count)
            while end < positions.count
                && flows[positions[end]].batch == flows[positions[end - 1]].batch
            {
                end += 1
            }
            slices.append(positions[start..<end])
            start = end
        }
        return slices
    }
}

/// Flows checked so far, counted from every simulating thread.
private final class FlowCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Adds `count`; the new total.
    func add(_ count: Int) -> Int {
        value.add(count, ordering: .relaxed).newValue
    }
}
