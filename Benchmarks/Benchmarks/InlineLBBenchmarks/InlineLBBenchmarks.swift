import Benchmark
import Foundation
import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator

/// A 10,000-rule generated corpus and what each stage makes of it, built once.
private struct Fixture: @unchecked Sendable {
    static let shared = Fixture()

    let corpusBytes: [UInt8]
    let corpus: ValidatedCorpus
    let plan: Plan
    let deployment: SimulatedDeployment
    let flows: [Flow]

    init() {
        corpusBytes = CorpusGenerator(rules: 10_000).generate()
        corpus = try! CorpusValidator.load(file: "generated.json", bytes: corpusBytes)
        plan = try! Planner.plan(state: .empty, corpus: corpus)
        // The simulator reads artifacts from disk: write them once, load them, remove them.
        let folder = NSTemporaryDirectory() + "inlinelb-benchmark-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let compilation = try! Compilation(
            corpus: corpus, inputFile: "generated.json", input: OutputFile.Artifact(of: corpusBytes)
        )
        try! OutputWriter.replaceDirectory(folder, with: compilation.files)
        deployment = try! SimulatedDeployment(folder: folder)
        flows = Traffic.probing(deployment).flows()
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(3), maxIterations: 50,
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5.0])])

    Benchmark("DecodeValidate10kRules") { benchmark in
        let bytes = Fixture.shared.corpusBytes
        benchmark.startMeasurement()
        blackHole(try CorpusValidator.load(file: "generated.json", bytes: bytes))
    }

    Benchmark("Plan10kRules") { benchmark in
        let corpus = Fixture.shared.corpus
        benchmark.startMeasurement()
        blackHole(try Planner.plan(state: .empty, corpus: corpus))
    }

    Benchmark("EmitHAProxy10kRules") { benchmark in
        let configs = Fixture.shared.plan.appliances.map(\.config)
        benchmark.startMeasurement()
        for config in configs { blackHole(HAProxyConfigRenderer.render(config)) }
    }

    Benchmark("CompileInMemory10kRules") { benchmark in
        let fixture = Fixture.shared
        benchmark.startMeasurement()
        blackHole(
            try Compilation(
                corpus: fixture.corpus, inputFile: "g.json",
                input: OutputFile.Artifact(of: fixture.corpusBytes)))
    }

    // A /16 fill allocates a handful of times (the bitmap levels), never per address; the
    // count wobbles by a few runtime allocations between runs, so the gate is absolute.
    Benchmark(
        "PoolFillSlash16",
        configuration: .init(
            metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
            maxDuration: .seconds(3), maxIterations: 50,
            thresholds: [.mallocCountTotal: .init(absolute: [.p90: 8])])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            var pool = AddressPool(hostsOf: IPv4Network("10.0.0.0/16")!)
            while let address = try? pool.allocate() { blackHole(address) }
        }
    }

    Benchmark("SimulateProbe10kRules") { benchmark in
        let fixture = Fixture.shared
        benchmark.startMeasurement()
        // Untraced, as `verify` runs flows until a check fails.
        var engine = FlowEngine(deployment: fixture.deployment, tracedFlows: 0)
        blackHole(engine.run(fixture.flows))
    }
}
