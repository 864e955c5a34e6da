import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator

/// Compile, simulate, verify: the proof that a corpus's artifacts do what it says.
public struct CorpusVerification: Sendable {
    /// How many flows were simulated.
    public var flowCount: Int
    /// How many of them reached a VM.
    public var deliveredCount: Int
    /// How many live rules were checked.
    public var ruleCount: Int
    public var violations: [Violation]
    public var results: [FlowResult]

    /// Simulates the default probing traffic (plus every target the corpus mentions) over
    /// the output folder `folder` and checks it against the corpus's intent.
    ///
    /// The first `tracedFlows` results carry their traces. Flows are simulated without the
    /// others, on all cores; when a check fails, the run is repeated with every trace, so
    /// that each violation names the hop that decided it (the simulation is deterministic).
    public init(corpus: ValidatedCorpus, folder: String, seed: UInt64 = 1, tracedFlows: Int = 0)
        throws(ArtifactError)
    {
        let deployment = try SimulatedDeployment(folder: folder)
        let expectations = Expectations(corpus: corpus)
        let flows = Traffic.probing(
            deployment, extraTargets: expectations.probeTargets, seed: seed
        ).flows()
        results = FlowEngine.run(flows, over: deployment, tracedFlows: tracedFlows)
        violations = Verifier.verify(results, against: expectations)
        if !violations.isEmpty {
            results = FlowEngine.run(flows, over: deployment)
            violations = Verifier.verify(results, against: expectations)
        }
        flowCount = results.count
        deliveredCount = results.count { $0.outcome.deliveredVM != nil }
        ruleCount = expectations.listeners.count
    }
}
