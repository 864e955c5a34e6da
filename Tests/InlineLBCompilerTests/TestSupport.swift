import Foundation
import InlineLBCore

@testable import InlineLBCompiler

/// The package's root folder.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()

/// Reads a file below the package root.
func readPackageFile(_ relativePath: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: packageRoot.appendingPathComponent(relativePath)))
}

/// The bundled corpora (corpora/*.json), by file stem.
func bundledCorpusNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(
        atPath: packageRoot.appendingPathComponent("corpora").path
    )
    .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
}

/// A small corpus for planner scenarios: one VPC (10.1.0.0/16) with an inline LB tier
/// `tier-web` (10.1.1.0/24), VMs vm-1...vm-4 at 10.1.1.11-14, public IPs ip-1...ip-4 at
/// 203.0.113.11-14, and whatever rules a test adds.
struct CorpusBuilder {
    struct Rule {
        var id: String
        var ip: String
        var port: Int
        var privatePort = 8080
        var algorithm = "roundrobin"
        var vms: [String] = ["vm-1", "vm-2"]
        var state: String?
    }

    var rules: [Rule] = []
    var applianceState: String?
    var extraVMs: [(id: String, ip: String)] = []
    var tierNetmask = "255.255.255.0"
    var vmCount = 4
    var includeTier = true

    func json() -> [UInt8] {
        var vms: [JSONOutput] = (1...max(1, vmCount)).prefix(vmCount).map { index in
            .object([
                ("id", .string("vm-\(index)")), ("name", .string("web\(index)")),
                ("networkid", .string("tier-web")),
                ("ipaddress", .string("10.1.1.\(10 + index)")),
            ])
        }
        vms += extraVMs.map {
            .object([
                ("id", .string($0.id)), ("networkid", .string("tier-web")),
                ("ipaddress", .string($0.ip)),
            ])
        }
        let ruleDocs: [JSONOutput] = rules.map { rule in
            var members: [(String, JSONOutput)] = [
                ("id", .string(rule.id)), ("publicipid", .string(rule.ip)),
                ("networkid", .string("tier-web")),
                ("publicport", .int(rule.port)), ("privateport", .int(rule.privatePort)),
                ("algorithm", .string(rule.algorithm)),
                ("virtualmachineids", .array(rule.vms.map(JSONOutput.string))),
            ]
            if let state = rule.state { members.append(("state", .string(state))) }
            return .object(members)
        }
        var document: [(String, JSONOutput)] = [
            ("format", .string("inlinelb-corpus/1")), ("name", .string("scenario")),
            (
                "physicalnetworks",
                .array([
                    .object([
                        ("id", .string("pn-1")),
                        (
                            "providers",
                            .array([
                                .object([
                                    ("id", .string("nsp-1")), ("name", .string("VpcInlineLbVm")),
                                ])
                            ])
                        ),
                        (
                            "vpcinlineloadbalancerelements",
                            .array([
                                .object([("id", .string("el-1")), ("nspid", .string("nsp-1"))])
                            ])
                        ),
                    ])
                ])
            ),
            (
                "vpcofferings",
                .array([.object([("id", .string("vo")), ("lbprovider", .string("VpcInlineLbVm"))])])
            ),
            (
                "networkofferings",
                .array([.object([("id", .string("no")), ("lbprovider", .string("VpcInlineLbVm"))])])
            ),
            (
                "vpcs",
                .array([
                    .object([
                        ("id", .string("vpc-1")), ("cidr", .string("10.1.0.0/16")),
                        ("vpcofferingid", .string("vo")),
                        ("sourcenatip", .string("203.0.113.2")),
                    ])
                ])
            ),
            (
                "networks",
                .array(
                    includeTier
                        ? [
                            .object([
                                ("id", .string("tier-web")), ("vpcid", .string("vpc-1")),
                                ("networkofferingid", .string("no")),
                                ("gateway", .string("10.1.1.1")),
                                ("netmask", .string(tierNetmask)),
                            ])
                        ] : [])
            ),
            ("virtualmachines", .array(includeTier ? vms : [])),
            (
                "publicipaddresses",
                .array(
                    (1...4).map { index in
                        .object([
                            ("id", .string("ip-\(index)")),
                            ("ipaddress", .string("203.0.113.\(10 + index)")),
                            ("vpcid", .string("vpc-1")),
                        ])
                    })
            ),
            ("loadbalancerrules", .array(ruleDocs)),
        ]
        if let applianceState {
            document.append(
                (
                    "vpcinlineloadbalancervms",
                    .array([
                        .object([
                            ("networkid", .string("tier-web")), ("state", .string(applianceState)),
                        ])
                    ])
                ))
        }
        return JSONOutput.object(document).document
    }

    func validated() throws -> ValidatedCorpus {
        try CorpusValidator.load(file: "scenario.json", bytes: json())
    }

    func plan(from state: DeploymentState = .empty, restarts: [NetworkRestart] = []) throws -> Plan
    {
        try Planner.plan(state: state, corpus: try validated(), restarts: restarts)
    }
}

extension Plan {
    /// The action kinds, in order.
    var kinds: [Action.Kind] { actions.map(\.kind) }
}

/// A deterministic generator for randomized tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
