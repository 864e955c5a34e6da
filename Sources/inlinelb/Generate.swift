import ArgumentParser
import InlineLBCompiler

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic synthetic corpus that compiles cleanly.",
        discussion: """
            The same options and seed always give the same bytes. Each VPC has one inline LB
            tier and --tiers-per-vpc - 1 plain tiers of --vms-per-tier VMs; --ips-per-vpc public
            IPs carry --rules-per-ip rules each on ports 1000 and up; each rule balances to
            --vms-per-rule distinct VMs. Mixes are name:weight lists.

            Examples:
              inlinelb generate --rules 1000000 --vms-per-rule 4 --seed 1 -o big.json
              inlinelb generate --rules 10000 --algorithms roundrobin --stickiness none -o rr.json
            """)

    @Option(help: "Number of load balancer rules.")
    var rules: Int

    @Option(help: "VMs assigned to each rule.")
    var vmsPerRule = 4

    @Option(help: "Seed of the XXH3 draws.")
    var seed: UInt64 = 1

    @Option(help: "Tiers per VPC (the first carries the inline LB).")
    var tiersPerVpc = 2

    @Option(help: "VMs per tier.")
    var vmsPerTier = 16

    @Option(help: "Public IPs per VPC.")
    var ipsPerVpc = 100

    @Option(help: "Rules per public IP.")
    var rulesPerIp = 10

    @Option(help: "Algorithm mix, e.g. roundrobin:2,leastconn:1,source:1.")
    var algorithms = "roundrobin:2,leastconn:1,source:1"

    @Option(help: "Stickiness mix over none, LbCookie, AppCookie, SourceBased.")
    var stickiness = "none:6,LbCookie:1,AppCookie:1,SourceBased:1"

    @Option(name: .shortAndLong, help: "Output file.")
    var output: String

    func run() throws {
        guard
            let algorithmMix = CorpusGenerator.Mix(
                algorithms, allowed: ["roundrobin", "leastconn", "source"])
        else {
            throw ValidationError(
                "--algorithms: expected name:weight pairs over roundrobin, leastconn, source")
        }
        guard
            let stickinessMix = CorpusGenerator.Mix(
                stickiness, allowed: CorpusGenerator.stickinessNames)
        else {
            throw ValidationError(
                "--stickiness: expected name:weight pairs over none, LbCookie, AppCookie, SourceBased"
            )
        }
        let generator = CorpusGenerator(
            rules: rules, vmsPerRule: vmsPerRule, seed: seed, tiersPerVPC: tiersPerVpc,
            vmsPerTier: vmsPerTier,
            ipsPerVPC: ipsPerVpc, rulesPerIP: rulesPerIp, algorithms: algorithmMix,
            stickiness: stickinessMix)
        if let problem = generator.problem { throw ValidationError(problem) }
        do {
            try OutputWriter.replaceFile(output, with: generator.generate())
        } catch {
            printError("inlinelb: \(error)")
            throw ExitStatus.cannotCreate
        }
    }
}
