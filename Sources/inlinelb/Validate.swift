import ArgumentParser
import InlineLBCompiler
import InlineLBCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check corpora against CloudStack's rules without writing anything.",
        discussion: """
            Every problem of every corpus is reported as FILE:LINE:COLUMN: JSON-PATH (id): reason.

            Examples:
              inlinelb validate corpora/ui-flow.json
              inlinelb validate corpora/*.json --format json
            """)

    @Argument(help: "Corpus files (inlinelb-corpus/1 JSON).")
    var corpora: [String]

    @Option(help: "Summary style: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let loaded = try loadCorpora(corpora)
        switch format {
        case .text:
            for item in loaded {
                let model = item.corpus.corpus
                print(
                    "\(item.path): valid (\(model.vpcs.count) VPCs, \(model.networks.count) tiers, \(model.loadBalancerRules.count) rules, \(model.loadBalancerRules.count(where: \.isActive)) active)"
                )
            }
        case .json:
            let document = JSONOutput.array(
                loaded.map { item in
                    .object([
                        ("file", .string(item.path)), ("valid", .bool(true)),
                        ("vpcs", .int(item.corpus.corpus.vpcs.count)),
                        ("rules", .int(item.corpus.corpus.loadBalancerRules.count)),
                    ])
                })
            print(String(decoding: document.document, as: UTF8.self), terminator: "")
        }
    }
}
