// Measures inlinelb's throughput in one run and prints a table:
//   inlinelb-throughput --inlinelb PATH [--max-rules N] [--peers-dir DIR]
// End-to-end compile goes through the release `inlinelb` binary as a child process (wall
// time and the child's peak resident memory); the other figures are measured in process.
// With --peers-dir, the translated listeners of the 10,000-rule corpus and our rendered
// haproxy.cfg bytes are written there for the Python peer renderers.
import Foundation
import InlineLBCompiler
import InlineLBCore
import InlineLBSimulator

func argument(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name),
        index + 1 < CommandLine.arguments.count
    else {
        return nil
    }
    return CommandLine.arguments[index + 1]
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = (clock.now - start).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
}

/// The best of `runs` timings.
func best(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    try best(runs, keeping: body)
}

/// The best of `runs` timings of `body`, whose result is released after the clock stops:
/// releasing a decoded million-rule corpus takes 0.1-0.2 s, and that is not reading it.
func best<Result>(_ runs: Int, keeping body: () throws -> Result) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        var result: Result?
        fastest = min(fastest, try seconds { result = try body() })
        withExtendedLifetime(result) {}
    }
    return fastest
}

func format(_ value: Double) -> String {
    if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
    if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
    return String(format: "%.1f", value)
}

let work = NSTemporaryDirectory() + "inlinelb-throughput-\(getpid())"

/// The output of a `rules`-rule corpus, written, loaded for simulation and removed, and its
/// probe (every listener port of every public address, 12 connections each, and 2 to ports
/// nothing listens on) with the connections multiplied by `repeats`.
func probe(rules: Int, repeats: Int) throws -> (SimulatedDeployment, [Flow]) {
    let bytes = CorpusGenerator(rules: rules).generate()
    let corpus = try CorpusValidator.load(file: "g.json", bytes: bytes)
    let folder = work + "/out-sim-\(rules)"
    let compilation = try Compilation(
        corpus: corpus, inputFile: "g.json", input: OutputFile.Artifact(of: bytes))
    try OutputWriter.replaceDirectory(folder, with: compilation.files)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let deployment = try SimulatedDeployment(folder: folder)
    var traffic = Traffic.probing(deployment)
    for group in traffic.groups.indices { traffic.groups[group].count *= repeats }
    return (deployment, traffic.flows())
}

// `--simulate-once RULES [--repeats N]`: one untraced run of that probe on one engine, and
// nothing else, so that Benchmarks/instructions.sh can count its instructions.
if let rules = argument("--simulate-once").flatMap({ Int($0) }) {
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let (deployment, flows) = try probe(
        rules: rules, repeats: Int(argument("--repeats") ?? "1") ?? 1)
    try? FileManager.default.removeItem(atPath: work)
    var engine = FlowEngine(deployment: deployment, tracedFlows: 0)
    _ = engine.run(flows)
    print(flows.count)
    exit(0)
}

// `--render-once RULES`: every haproxy.cfg of that corpus's plan rendered once, and nothing
// else, so that Benchmarks/instructions.sh can count the renderer's instructions.
if let rules = argument("--render-once").flatMap({ Int($0) }) {
    let bytes = CorpusGenerator(rules: rules).generate()
    let plan = try Planner.plan(
        state: .empty, corpus: try CorpusValidator.load(file: "g.json", bytes: bytes))
    let listeners = plan.appliances.reduce(0) { $0 + $1.config.rules.count }
    let rendered = plan.appliances.reduce(0) {
        $0 + HAProxyConfigRenderer.render($1.config).count
    }
    print("\(listeners) \(rendered)")
    exit(0)
}

// `--read-once FILE [--repeats N]`: the file parsed into its tape, then decoded, `repeats`
// times; the best time of each phase, and of releasing the decoded corpus. For profiling.
if let file = argument("--read-once") {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    var (tapeTime, decodeTime, releaseTime) = (Double.infinity, Double.infinity, Double.infinity)
    var rules = 0
    for _ in 0..<(Int(argument("--repeats") ?? "1") ?? 1) {
        var source: CorpusSource?
        tapeTime = min(
            tapeTime, try seconds { source = try CorpusSource(file: file, bytes: bytes) })
        var corpus: Corpus?
        decodeTime = min(decodeTime, try seconds { corpus = try CorpusDecoder.decode(source!) })
        rules = corpus?.loadBalancerRules.count ?? 0
        releaseTime = min(releaseTime, seconds { corpus = nil })
    }
    let megabytes = Double(bytes.count) / 1e6
    print(
        String(
            format:
                "tape %.3f s (%.0f MB/s), decode %.3f s (%d rules), read %.0f MB/s; release %.3f s",
            tapeTime, megabytes / tapeTime, decodeTime, rules,
            megabytes / (tapeTime + decodeTime), releaseTime))
    exit(0)
}

guard let inlinelb = argument("--inlinelb") else {
    FileHandle.standardError.write(
        Data(
            ("usage: inlinelb-throughput --inlinelb PATH [--max-rules N] [--peers-dir DIR]\n"
                + "       inlinelb-throughput --simulate-once RULES [--repeats N]\n"
                + "       inlinelb-throughput --render-once RULES\n"
                + "       inlinelb-throughput --read-once FILE [--repeats N]\n").utf8))
    exit(64)
}
let maxRules = Int(argument("--max-rules") ?? "1000000") ?? 1_000_000
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

print("End-to-end `inlinelb compile` of generated corpora (4 VMs per rule), release build:")
print(
    "rules      corpus MB  read MB/s  read+validate MB/s  compile s  rules/s    peak RSS MB")
var results: [String: Double] = [:]
var largest: (rules: Int, file: String, compile: Double)?

/// Runs the release `inlinelb` with `arguments` (output discarded): its wall time and its own
/// peak resident memory in MB, from `wait4`. Exits if it fails.
func runInlinelb(_ arguments: [String]) -> (seconds: Double, peakMB: Double) {
    let argv = ([inlinelb] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    var status: Int32 = 0
    var usage = rusage()
    let time = seconds {
        guard posix_spawn(&pid, inlinelb, &actions, nil, argv, environ) == 0 else {
            print("cannot start \(inlinelb)")
            exit(1)
        }
        wait4(pid, &status, 0, &usage)
    }
    guard status == 0 else {
        print("inlinelb \(arguments.joined(separator: " ")) failed: status \(status)")
        exit(1)
    }
    return (time, Double(usage.ru_maxrss) / 1024)
}

for rules in [10_000, 100_000, 1_000_000] where rules <= maxRules {
    let bytes = CorpusGenerator(rules: rules).generate()
    let file = work + "/corpus-\(rules).json"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    // Reading is parsing plus decoding into the typed corpus; validation checks it. The parse
    // is kept with the corpus, as a compile keeps it for its diagnostics.
    let read = try best(3) {
        let source = try CorpusSource(file: file, bytes: bytes)
        return (source, try CorpusDecoder.decode(source))
    }
    let decode = try best(3) { try CorpusValidator.load(file: file, bytes: bytes) }
    // Outputs stay until the end: on an ext4 without a journal (these machines), creating
    // files soon after thousands were deleted is slower, as the allocator steps over each
    // recently deleted inode, and the next compile would pay for this one's deletion.
    let (compile, peak) = runInlinelb(["compile", file, "-o", work + "/out-\(rules)"])
    largest = (rules, file, compile)
    let megabytes = Double(bytes.count) / 1e6
    results["rules/s \(rules)"] = Double(rules) / compile
    print(
        String(
            format: "%-10d %9.1f  %9.1f  %18.1f  %9.2f  %-9@  %11.0f", rules, megabytes,
            megabytes / read, megabytes / decode, compile,
            format(Double(rules) / compile) as NSString, peak))
}

// Incremental apply on the largest corpus: one rule moves to another backend port (and back),
// six times. The first apply after a full one also sets up the spare folder that later
// applies stage in; the other five are the steady state, reported by their median.
if let largest {
    let state = work + "/state.json"
    let out = work + "/out-apply"
    _ = runInlinelb(["apply", largest.file, "--state", state, "-o", out])
    var times: [Double] = []
    for round in 0..<6 {
        var text = try String(contentsOfFile: largest.file, encoding: .utf8)
        let (old, new) = round % 2 == 0 ? ("8080", "8081") : ("8081", "8080")
        guard let port = text.range(of: "\"privateport\": \(old)") else {
            print("the generated corpus has no rule on backend port \(old)")
            exit(1)
        }
        text.replaceSubrange(port, with: "\"privateport\": \(new)")
        try text.write(toFile: largest.file, atomically: true, encoding: .utf8)
        times.append(runInlinelb(["apply", largest.file, "--state", state, "-o", out]).seconds)
    }
    let steady = times.dropFirst().sorted()
    let median = steady[steady.count / 2]
    print(
        String(
            format:
                "Incremental apply, %d rules, one rule changed: %.2f s (%.1f%% of the full compile; median of %d, %.2f-%.2f s); the first after a full apply %.2f s (%.1f%%)",
            largest.rules, median, 100 * median / largest.compile, steady.count, steady.first!,
            steady.last!, times[0], 100 * times[0] / largest.compile))
}

// Verification of the largest corpus: compile, probe, simulate, check. Last, as it writes
// and deletes a throwaway output of its own.
if let largest {
    let (time, peak) = runInlinelb(["verify", largest.file])
    print(
        String(
            format: "`inlinelb verify`, %d rules: %.1f s, peak RSS %.0f MB", largest.rules, time,
            peak))
}

let small = CorpusGenerator(rules: 10_000).generate()
let corpus = try CorpusValidator.load(file: "g.json", bytes: small)
let plan = try Planner.plan(state: .empty, corpus: corpus)
let configs = plan.appliances.map(\.config)
let listeners = configs.reduce(0) { $0 + $1.rules.count }

var allocations = 0
let poolTime = best(50) {
    var pool = AddressPool(hostsOf: IPv4Network("10.0.0.0/16")!)
    allocations = 0
    while (try? pool.allocate()) != nil { allocations += 1 }
}
let renderTime = best(5) { for config in configs { _ = HAProxyConfigRenderer.render(config) } }
/// Simulated connections per second over the output of a `rules`-rule corpus: the probe,
/// with its connection counts multiplied by `repeats`.
func simulationRate(rules: Int, traces: Bool, repeats: Int = 1) throws -> (
    rate: Double, flows: Int
) {
    let (deployment, flows) = try probe(rules: rules, repeats: repeats)
    let time = best(3) {
        var engine = FlowEngine(deployment: deployment, tracedFlows: traces ? .max : 0)
        _ = engine.run(flows)
    }
    return (Double(flows.count) / time, flows.count)
}
print("")
print("In process (10,000-rule corpus, best of several runs):")
print(
    "  pool: \(format(Double(allocations) / poolTime)) allocations/s filling a /16 (\(allocations) addresses)"
)
print(
    "  haproxy.cfg rendering: \(format(Double(listeners) / renderTime)) listeners/s (\(listeners) listeners, \(configs.count) files)"
)
for rules in [10_000, 100_000] where rules <= maxRules {
    let traced = try simulationRate(rules: rules, traces: true)
    let untraced = try simulationRate(rules: rules, traces: false)
    let sustained = try simulationRate(rules: rules, traces: false, repeats: 10)
    print(
        "  simulation, \(rules) rules, one core: probe \(format(untraced.rate)) connections/s "
            + "without traces, \(format(traced.rate)) with (\(traced.flows) flows); "
            + "ten times the probe \(format(sustained.rate)) (\(sustained.flows) flows)")
}

if let peers = argument("--peers-dir") {
    try FileManager.default.createDirectory(
        atPath: peers + "/expected", withIntermediateDirectories: true)
    var documents: [JSONOutput] = []
    for config in configs {
        let rendered = HAProxyConfigRenderer.render(config)
        try Data(rendered).write(
            to: URL(fileURLWithPath: peers + "/expected/\(config.appliance).cfg"))
        documents.append(
            .object([
                ("appliance", .string(config.appliance)),
                ("guestip", .string(config.guestIP.description)),
                ("maxconn", .int(config.maxConnections)),
                ("keepalive", .bool(config.keepAliveEnabled)),
                (
                    "rules",
                    .array(
                        config.rules.map { rule in
                            var members: [(String, JSONOutput)] = [
                                ("sourceip", .string(rule.sourceIP.description)),
                                ("sourceport", .int(rule.sourcePort)),
                                ("algorithm", .string(rule.algorithm.rawValue)),
                                ("proxy", .bool(rule.lbProtocol == .tcpProxy)),
                                ("cidrs", .array(rule.cidrs.map { .string($0.description) })),
                                (
                                    "servers",
                                    .array(
                                        rule.destinations.map {
                                            .string("\($0.address):\($0.port)")
                                        })
                                ),
                            ]
                            if let policy = rule.stickiness {
                                members.append(("stickiness", .string(policy.method.rawValue)))
                                members.append(
                                    (
                                        "params",
                                        .object(policy.params.map { ($0.name, .string($0.value)) })
                                    ))
                            }
                            return .object(members)
                        })
                ),
            ]))
    }
    try Data(JSONOutput.array(documents).document).write(
        to: URL(fileURLWithPath: peers + "/listeners.json"))
    print("  ours for the peers: \(format(Double(listeners) / renderTime)) listeners/s")
}
