import ArgumentParser

@main
struct InlineLB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inlinelb",
        abstract:
            "Compile CloudStack VPC Inline LB rule corpora into appliance and router artifacts.",
        discussion: """
            A corpus (format inlinelb-corpus/1) is the desired state of one or more VPCs in
            CloudStack's API vocabulary. inlinelb validates it, plans the VPC Inline LB
            appliances (one per tier, a secondary guest IP per public IP with live rules,
            static NAT from each public IP to it) and writes HAProxy configs, appliance
            firewalls, router static NAT rules and the ordered orchestration actions.

            Exit codes:
              0   success (verify: every check holds)
              1   verify found violations
              64  usage error
              65  invalid corpus or state file (every problem is listed on stderr)
              66  an input file cannot be read
              73  the output cannot be written (the previous output is left intact)
            """,
        version: "inlinelb 0.1.0",
        subcommands: [
            Validate.self, Compile.self, Apply.self, Simulate.self, Verify.self, Generate.self,
        ]
    )
}
