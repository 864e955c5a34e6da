import InlineLBCore

/// An unambiguous byte encoding of what a renderer reads, digested with XXH3-128: two
/// inputs with the same digest render the same bytes. Strings are length-prefixed and
/// optional values tagged, so no two different inputs encode alike.
struct CanonicalInput: ~Copyable {
    private var digester = WideDigester()

    /// Starts an encoding that is only comparable with encodings of the same `kind` by the
    /// same tool version.
    init(kind: String) {
        add(inlinelbVersion)
        add(kind)
    }

    mutating func add(_ value: Int) {
        digester.append(littleEndian: UInt64(bitPattern: Int64(value)))
    }

    mutating func add(_ text: String) {
        add(text.utf8.count)
        digester.append(text)
    }

    mutating func add(_ flag: Bool) { digester.append(byte: flag ? 1 : 0) }

    mutating func add(_ address: IPv4Address) { add(Int(address.value)) }

    mutating func add(_ network: IPv4Network) {
        add(network.network)
        add(network.prefixLength)
    }

    /// Tags presence, then encodes the value.
    mutating func add<Value>(_ value: Value?, _ encode: (inout CanonicalInput, Value) -> Void) {
        add(value != nil)
        if let value { encode(&self, value) }
    }

    /// XXH3-128 of the encoding, as 32 hex digits.
    consuming func digest() -> String { Digest.hex(digester.finish()) }
}

extension LoadBalancerConfig {
    /// XXH3-128 of the config's canonical encoding: what the appliance was last sent.
    var canonicalDigest: String {
        var input = CanonicalInput(kind: "lb-config")
        encode(into: &input)
        return input.digest()
    }

    func encode(into input: inout CanonicalInput) {
        input.add(appliance)
        input.add(guestIP)
        input.add(maxConnections)
        input.add(keepAliveEnabled)
        input.add(rules.count)
        for rule in rules {
            input.add(rule.ruleID)
            input.add(rule.publicIP)
            input.add(rule.sourceIP)
            input.add(rule.sourcePort)
            input.add(rule.algorithm.rawValue)
            input.add(rule.lbProtocol.rawValue)
            input.add(rule.cidrs.count)
            for cidr in rule.cidrs { input.add(cidr) }
            input.add(rule.destinations.count)
            for destination in rule.destinations {
                input.add(destination.vmID)
                input.add(destination.address)
                input.add(destination.port)
            }
            input.add(rule.stickiness) { input, policy in
                input.add(policy.method.rawValue)
                input.add(policy.name)
                input.add(policy.params.count)
                for (name, value) in policy.params {
                    input.add(name)
                    input.add(value)
                }
            }
            input.add(rule.healthCheck) { input, policy in
                input.add(policy.pingPath)
                input.add(policy.responseTimeout)
                input.add(policy.intervalTime)
                input.add(policy.healthyThreshold)
                input.add(policy.unhealthyThreshold)
            }
        }
    }
}

extension AppliancePlan {
    /// XXH3-128 of everything the appliance's three files are rendered from.
    func inputDigest(tier: Tier) -> String {
        var input = CanonicalInput(kind: "appliance-files")
        input.add(configDigest)
        input.add(record.number)
        input.add(record.state.rawValue)
        input.add(record.guestIP)
        input.add(record.linkLocalIP)
        input.add(record.mappings.count)
        for mapping in record.mappings {
            input.add(mapping.publicIPID)
            input.add(mapping.publicIP)
            input.add(mapping.secondaryIP)
        }
        input.add(tier.id)
        input.add(tier.cidr)
        input.add(tier.gateway)
        return input.digest()
    }
}
