import Foundation
import Testing

/// Inputs at the edges of what the tool takes: each gives a clear error or a result, never a
/// crash, and memory stays bounded (the child's peak resident size is checked).
@Suite("limits")
struct LimitTests {
    /// A corpus with one VPC (10.0.0.0/8), one LB tier `web` (10.0.0.0/16), VMs, public
    /// IPs, rules and extra plain /29 tiers, written as JSON text.
    private func corpus(
        name: String = "limits", vms: Int = 4, publicIPs: Int = 1, rules: [(ip: Int, port: Int)],
        extraTiers: Int = 0
    ) -> String {
        var text =
            #"{"format": "inlinelb-corpus/1", "name": "\#(name)", "physicalnetworks": [{"id": "pn", "providers": [{"id": "nsp", "name": "VpcInlineLbVm", "state": "Enabled"}], "vpcinlineloadbalancerelements": [{"id": "el", "nspid": "nsp", "enabled": true}]}], "vpcofferings": [{"id": "vo", "lbprovider": "VpcInlineLbVm"}], "networkofferings": [{"id": "lb", "lbprovider": "VpcInlineLbVm"}, {"id": "plain"}], "vpcs": [{"id": "vpc", "cidr": "10.0.0.0/8", "vpcofferingid": "vo"}], "networks": [{"id": "web", "vpcid": "vpc", "networkofferingid": "lb", "gateway": "10.0.0.1", "netmask": "255.255.0.0"}"#
        text.reserveCapacity(rules.count * 140 + extraTiers * 120)
        for tier in 0..<extraTiers {
            let address = (10 << 24) + (1 << 16) + tier * 8 + 1
            text +=
                #", {"id": "t\#(tier)", "vpcid": "vpc", "networkofferingid": "plain", "gateway": "\#(address >> 24).\#((address >> 16) & 255).\#((address >> 8) & 255).\#(address & 255)", "netmask": "255.255.255.248"}"#
        }
        text += #"], "virtualmachines": ["#
        text += (0..<vms).map {
            #"{"id": "vm-\#($0)", "networkid": "web", "ipaddress": "10.0.0.\#(10 + $0)"}"#
        }
        .joined(separator: ", ")
        text += #"], "publicipaddresses": ["#
        text += (0..<publicIPs).map { ip in
            let address = 0x6440_0001 + ip
            return
                #"{"id": "ip\#(ip)", "ipaddress": "100.\#((address >> 16) & 255).\#((address >> 8) & 255).\#(address & 255)", "vpcid": "vpc"}"#
        }.joined(separator: ", ")
        text += #"], "loadbalancerrules": ["#
        text += rules.map { rule in
            #"{"id": "r\#(rule.ip)-\#(rule.port)", "publicipid": "ip\#(rule.ip)", "networkid": "web", "publicport": \#(rule.port), "privateport": 80, "algorithm": "roundrobin", "virtualmachineids": ["vm-0"]}"#
        }.joined(separator: ", ")
        return text + "]}\n"
    }

    /// Compiles `text` into a fresh folder: the exit status, standard error and the child's
    /// peak resident size in MB (from `wait4`, so other tests' processes do not count).
    private func compile(_ text: String, in folder: URL) throws -> (
        status: Int32, stderr: String, megabytes: Int
    ) {
        let file = folder.appendingPathComponent("corpus.json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let errors = folder.appendingPathComponent("stderr.txt").path
        let arguments = [
            inlinelbBinary.path, "compile", file, "-o", folder.appendingPathComponent("out").path,
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        #expect(posix_spawn(&pid, inlinelbBinary.path, &actions, nil, &argv, environ) == 0)
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        // The exit status as a shell reports it; a signal shows as 128 + its number.
        let exit = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, stderr, usage.ru_maxrss / 1024)
    }

    @Test func sixtyFiveThousandRulesOnOnePublicIP() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let every = (1...65535).map { (ip: 0, port: $0) }
        let refused = try compile(corpus(rules: every), in: folder)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("public port 8081 is the load balancer's stats port"))
        #expect(refused.stderr.components(separatedBy: "\n").count == 3, "\(refused.stderr)")
        let (status, stderr, megabytes) = try compile(
            corpus(rules: every.filter { $0.port != 8081 }), in: folder)
        #expect(status == 0, "\(stderr)")
        let config = try #require(
            filesBelow(folder.appendingPathComponent("out")).first { $0.hasSuffix("haproxy.cfg") })
        let text = try String(
            contentsOf: folder.appendingPathComponent("out/" + config), encoding: .utf8)
        #expect(text.components(separatedBy: "\nlisten ").count - 1 == 65535)  // and stats
        #expect(megabytes < 1024)
    }

    @Test func aSlash16TierWhosePoolFillsUp() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // 65,534 hosts: the gateway, one VM and the appliance leave 65,531 secondary IPs.
        let full = try compile(
            corpus(vms: 1, publicIPs: 65531, rules: (0..<65531).map { ($0, 80) }), in: folder)
        #expect(full.status == 0, "\(full.stderr)")
        let megabytes = full.megabytes
        #expect(megabytes < 1024)
        let over = try compile(
            corpus(vms: 1, publicIPs: 65532, rules: (0..<65532).map { ($0, 80) }), in: folder)
        #expect(over.status == 65)
        #expect(
            over.stderr.contains(
                "no free guest address left for the secondary IP of public IP 100.64.255.252"))
    }

    @Test func aHundredThousandTiers() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try compile(corpus(rules: [(0, 80)], extraTiers: 99_999), in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let megabytes = result.megabytes
        let manifest = try String(
            contentsOf: folder.appendingPathComponent("out/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"tiers\": 100000"))
        #expect(megabytes < 1024)
    }

    @Test func aTenMegabyteName() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let name = String(repeating: "n", count: 10_000_000)
        let result = try compile(corpus(name: name, rules: [(0, 80)]), in: folder)
        #expect(result.status == 0, "\(result.stderr)")
        let megabytes = result.megabytes
        let manifest = try Data(contentsOf: folder.appendingPathComponent("out/manifest.json"))
        #expect(manifest.count > 10_000_000)
        #expect(megabytes < 512)
    }

    @Test func aTwoGigabyteFileIsRefusedUnread() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("huge.json")
        // A sparse file: two gigabytes that take no disk space.
        #expect(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: 2 << 30)
        try handle.close()
        let out = folder.appendingPathComponent("out").path
        let result = try inlinelb("compile", file.path, "-o", out)
        #expect(result.status == 65)
        #expect(result.stderr.contains("is 2147483648 bytes, more than the limit of 1073741824"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
