import InlineLBCore

/// Writes deterministic synthetic corpora that compile cleanly, so that benchmarks can
/// scale to millions of rules without committing large files.
///
/// Layout: each VPC (10.0.0.0/16, VPCs may overlap) has one inline LB tier (10.0.0.0/20)
/// and `tiersPerVPC - 1` plain tiers (10.0.16.0/20, ...), `vmsPerTier` VMs in every tier,
/// `ipsPerVPC` public IPs from 100.64.0.0/10 with `rulesPerIP` rules each on ports 1000 and
/// up, each rule balancing to `vmsPerRule` distinct VMs of the LB tier drawn through XXH3.
public struct CorpusGenerator: Sendable {
    /// A weighted choice, parsed from `name:weight,name:weight`.
    public struct Mix: Sendable {
        public var entries: [(name: String, weight: Int)]

        public init?(_ text: String, allowed: [String]) {
            var entries: [(String, Int)] = []
            for part in text.split(separator: ",") {
                let pieces = part.split(separator: ":")
                guard (1...2).contains(pieces.count), allowed.contains(String(pieces[0])) else {
                    return nil
                }
                let weight = pieces.count == 2 ? Int(pieces[1]) : 1
                guard let weight, weight >= 0 else { return nil }
                entries.append((String(pieces[0]), weight))
            }
            guard entries.contains(where: { $0.1 > 0 }) else { return nil }
            self.entries = entries
        }

        /// The entry for a 64-bit draw.
        func pick(_ draw: UInt64) -> String {
            let total = entries.reduce(0) { $0 + $1.weight }
            var slot = Int(draw % UInt64(total))
            for entry in entries {
                if slot < entry.weight { return entry.name }
                slot -= entry.weight
            }
            return entries[0].name
        }
    }

    public var rules: Int
    public var vmsPerRule: Int
    public var seed: UInt64
    public var tiersPerVPC: Int
    public var vmsPerTier: Int
    public var ipsPerVPC: Int
    public var rulesPerIP: Int
    public var algorithms: Mix
    public var stickiness: Mix

    public init(
        rules: Int, vmsPerRule: Int = 4, seed: UInt64 = 1, tiersPerVPC: Int = 2,
        vmsPerTier: Int = 16,
        ipsPerVPC: Int = 100, rulesPerIP: Int = 10,
        algorithms: Mix = Mix(
            "roundrobin:2,leastconn:1,source:1", allowed: ["roundrobin", "leastconn", "source"])!,
        stickiness: Mix = Mix(
            "none:6,LbCookie:1,AppCookie:1,SourceBased:1", allowed: CorpusGenerator.stickinessNames)!
    ) {
        self.rules = rules
        self.vmsPerRule = vmsPerRule
        self.seed = seed
        self.tiersPerVPC = tiersPerVPC
        self.vmsPerTier = vmsPerTier
        self.ipsPerVPC = ipsPerVPC
        self.rulesPerIP = rulesPerIP
        self.algorithms = algorithms
        self.stickiness = stickiness
    }

    public static let stickinessNames = ["none", "LbCookie", "AppCookie", "SourceBased"]

    /// Why the parameters cannot give a valid corpus, if they cannot.
    public var problem: String? {
        if rules < 1 { return "--rules must be at least 1" }
        if tiersPerVPC < 1 || tiersPerVPC > 16 { return "--tiers-per-vpc must be 1-16" }
        if vmsPerTier < 1 || vmsPerTier > 2000 { return "--vms-per-tier must be 1-2000" }
        if vmsPerRule < 1 || vmsPerRule > vmsPerTier {
            return "--vms-per-rule must be 1 to --vms-per-tier"
        }
        if ipsPerVPC < 1 || ipsPerVPC + vmsPerTier + 2 > 4093 {
            return "--ips-per-vpc plus --vms-per-tier must fit a /20 tier (at most 4091)"
        }
        if rulesPerIP < 1 || rulesPerIP > 7000 {
            return "--rules-per-ip must be 1-7000 (ports 1000 and up, below 8081)"
        }
        if publicIPCount > 1 << 21 {
            return "too many public IPs for 100.64.0.0/11 (\(publicIPCount))"
        }
        return nil
    }

    var publicIPCount: Int { (rules + rulesPerIP - 1) / rulesPerIP }
    var vpcCount: Int { (publicIPCount + ipsPerVPC - 1) / ipsPerVPC }

    private func draw(_ stream: UInt64, _ index: Int) -> UInt64 {
        var bytes = [UInt8](repeating: 0, count: 16)
        for byte in 0..<8 {
            bytes[byte] = UInt8(truncatingIfNeeded: stream >> (8 * UInt64(byte)))
            bytes[8 + byte] = UInt8(truncatingIfNeeded: UInt64(index) >> (8 * UInt64(byte)))
        }
        return Digest.xxh3(bytes, seed: seed)
    }

    /// The corpus as JSON bytes.
    public func generate() -> [UInt8] {
        var out = ByteWriter(
            capacity: rules * 260 + vpcCount * tiersPerVPC * vmsPerTier * 90 + 4096)
        out.line("{")
        out.line("\"format\": \"inlinelb-corpus/1\",")
        out.line("\"name\": \"generated-\(rules)-rules-seed-\(seed)\",")
        out.line(
            "\"physicalnetworks\": [{\"id\": \"pn-1\", \"providers\": [{\"id\": \"nsp-1\", \"name\": \"VpcInlineLbVm\", \"state\": \"Enabled\"}], \"vpcinlineloadbalancerelements\": [{\"id\": \"el-1\", \"nspid\": \"nsp-1\", \"enabled\": true}]}],"
        )
        out.line(
            "\"vpcofferings\": [{\"id\": \"vo\", \"name\": \"inline LB\", \"lbprovider\": \"VpcInlineLbVm\"}],"
        )
        out.line(
            "\"networkofferings\": [{\"id\": \"no-lb\", \"lbprovider\": \"VpcInlineLbVm\"}, {\"id\": \"no-plain\"}],"
        )
        out.line("\"vpcs\": [")
        for vpc in 0..<vpcCount {
            out.append(
                "{\"id\": \"vpc-\(vpc)\", \"cidr\": \"10.0.0.0/16\", \"vpcofferingid\": \"vo\", \"sourcenatip\": \""
            )
            out.append(IPv4Address(0x6460_0000 + UInt32(vpc)))
            out.line(vpc + 1 < vpcCount ? "\"}," : "\"}")
        }
        out.line("],")
        out.line("\"networks\": [")
        for vpc in 0..<vpcCount {
            for tier in 0..<tiersPerVPC {
                let last = vpc + 1 == vpcCount && tier + 1 == tiersPerVPC
                out.append(
                    "{\"id\": \"t-\(vpc)-\(tier)\", \"vpcid\": \"vpc-\(vpc)\", \"networkofferingid\": \""
                )
                out.append(tier == 0 ? "no-lb" : "no-plain")
                out.append(
                    "\", \"gateway\": \"10.0.\(16 * tier).1\", \"netmask\": \"255.255.240.0\"")
                if tier == 0 {
                    out.append(
                        ", \"acl\": [{\"number\": 1, \"protocol\": \"tcp\", \"startport\": 1000, \"endport\": \(999 + rulesPerIP), \"cidrlist\": \"0.0.0.0/0\"}]"
                    )
                }
                out.line(last ? "}" : "},")
            }
        }
        out.line("],")
        out.line("\"virtualmachines\": [")
        for vpc in 0..<vpcCount {
            for tier in 0..<tiersPerVPC {
                for vm in 0..<vmsPerTier {
                    let last =
                        vpc + 1 == vpcCount && tier + 1 == tiersPerVPC && vm + 1 == vmsPerTier
                    let host = 0x0A00_0000 + UInt32(16 * tier) << 8 + 2048 + UInt32(vm)
                    out.append(
                        "{\"id\": \"vm-\(vpc)-\(tier)-\(vm)\", \"networkid\": \"t-\(vpc)-\(tier)\", \"ipaddress\": \""
                    )
                    out.append(IPv4Address(host))
                    out.line(last ? "\"}" : "\"},")
                }
            }
        }
        out.line("],")
        out.line("\"publicipaddresses\": [")
        for ip in 0..<publicIPCount {
            out.append(
                "{\"id\": \"ip-\(ip)\", \"vpcid\": \"vpc-\(ip / ipsPerVPC)\", \"ipaddress\": \"")
            out.append(IPv4Address(0x6440_0001 + UInt32(ip)))
            out.line(ip + 1 < publicIPCount ? "\"}," : "\"}")
        }
        out.line("],")
        out.line("\"loadbalancerrules\": [")
        var chosen = [Int](repeating: 0, count: vmsPerRule)
        for rule in 0..<rules {
            let ip = rule / rulesPerIP
            let vpc = ip / ipsPerVPC
            out.append(
                "{\"id\": \"lb-\(rule)\", \"publicipid\": \"ip-\(ip)\", \"networkid\": \"t-\(vpc)-0\", \"publicport\": "
            )
            out.append(1000 + rule % rulesPerIP)
            out.append(", \"privateport\": 8080, \"algorithm\": \"")
            out.append(algorithms.pick(draw(1, rule)))
            out.append("\", \"virtualmachineids\": [")
            // Distinct VMs: a random start and a random odd stride coprime with the tier size
            // would still repeat for even sizes, so walk from the start and skip taken ones.
            let start = Int(draw(2, rule) % UInt64(vmsPerTier))
            for slot in 0..<vmsPerRule {
                chosen[slot] = (start + slot) % vmsPerTier
                if slot > 0 { out.append(", ") }
                out.append("\"vm-\(vpc)-0-\(chosen[slot])\"")
            }
            out.append("]")
            switch stickiness.pick(draw(3, rule)) {
            case "LbCookie":
                out.append(
                    ", \"stickinesspolicy\": {\"methodname\": \"LbCookie\", \"name\": \"c\", \"params\": {\"cookie-name\": \"SRV\", \"indirect\": true}}"
                )
            case "AppCookie":
                out.append(
                    ", \"stickinesspolicy\": {\"methodname\": \"AppCookie\", \"name\": \"a\", \"params\": {\"cookie-name\": \"JSESSIONID\"}}"
                )
            case "SourceBased":
                out.append(
                    ", \"stickinesspolicy\": {\"methodname\": \"SourceBased\", \"name\": \"s\", \"params\": {}}"
                )
            default: break
            }
            out.line(rule + 1 < rules ? "}," : "}")
        }
        out.line("]")
        out.line("}")
        return out.bytes
    }
}
