import Foundation
import InlineLBCore
import Testing

@testable import InlineLBCompiler

/// Long arrays are decoded and validated in parts on all cores: results and diagnostics must
/// be those of one pass, in document order.
@Suite("Large corpora")
struct LargeCorpusTests {
    /// A generated 10,000-rule corpus with the fields of rules `broken` made wrong.
    static func corpus(breaking broken: [Int]) -> [UInt8] {
        var text = String(decoding: CorpusGenerator(rules: 10_000).generate(), as: UTF8.self)
        for rule in broken {
            text = text.replacingOccurrences(
                of: "{\"id\": \"lb-\(rule)\", ", with: "{\"id\": \"lb-\(rule)\", \"bogus\": 1, ")
        }
        return Array(text.utf8)
    }

    @Test func diagnosticsOfALongArrayComeInDocumentOrder() throws {
        let broken = [3, 4095, 4096, 5000, 9999]
        let bytes = Self.corpus(breaking: broken)
        do {
            _ = try CorpusValidator.load(file: "big.json", bytes: bytes)
            Issue.record("a corpus with unknown fields was accepted")
        } catch {
            #expect(
                error.diagnostics.map(\.path)
                    == broken.map { "loadbalancerrules[\($0)].bogus (id \"lb-\($0)\")" })
        }
    }

    /// Rules that do not decode leave gaps in their parts, which the join closes: the
    /// diagnostics still come in order, and the rules that did decode stay intact and in order.
    @Test func rulesThatDoNotDecodeLeaveNoGaps() throws {
        var text = String(decoding: CorpusGenerator(rules: 10_000).generate(), as: UTF8.self)
        let broken = [0, 3, 4095, 5000, 9999]
        for rule in broken {
            text = text.replacingOccurrences(of: "{\"id\": \"lb-\(rule)\", ", with: "{\"id\": 7, ")
        }
        let (corpus, diagnostics) = CorpusDecoder.decodeAll(
            try CorpusSource(file: "big.json", bytes: Array(text.utf8)))
        #expect(diagnostics.map(\.path) == broken.map { "loadbalancerrules[\($0)].id" })
        #expect(
            corpus.loadBalancerRules.map(\.id)
                == (0..<10_000).filter { !broken.contains($0) }.map { "lb-\($0)" })
    }

    /// Rule ids are checked for duplicates on all cores (hashed, sorted by hash in shards):
    /// each duplicate is reported once, in rule order, naming the first rule with its id.
    @Test func duplicateRuleIdsAreReportedInOrder() throws {
        var text = String(decoding: CorpusGenerator(rules: 10_000).generate(), as: UTF8.self)
        let renamed = [5000: 3, 6001: 6000, 9999: 3, 4096: 4095]
        for (rule, twin) in renamed {
            text = text.replacingOccurrences(
                of: "{\"id\": \"lb-\(rule)\", ", with: "{\"id\": \"lb-\(twin)\", ")
        }
        do {
            _ = try CorpusValidator.load(file: "big.json", bytes: Array(text.utf8))
            Issue.record("duplicate rule ids were accepted")
        } catch {
            #expect(
                error.diagnostics.map { "\($0.path): \($0.message)" }
                    == renamed.keys.sorted().map { rule in
                        "loadbalancerrules[\(rule)].id (id \"lb-\(renamed[rule]!)\"): "
                            + "duplicate id; loadbalancerrules[\(renamed[rule]!)] has the same id"
                    })
        }
    }

    /// What validation resolves of each rule (checked in parts on all cores, joined) is what
    /// looking up its ids gives.
    @Test func resolvedRulesMatchTheirIdsLookedUp() throws {
        var text = String(decoding: Self.corpus(breaking: []), as: UTF8.self)
        for rule in [0, 4095, 4096, 9999] {
            text = text.replacingOccurrences(
                of: "{\"id\": \"lb-\(rule)\", ",
                with: "{\"id\": \"lb-\(rule)\", \"state\": \"Revoke\", ")
        }
        let validated = try CorpusValidator.load(file: "big.json", bytes: Array(text.utf8))
        let model = validated.corpus
        let resolved = validated.resolvedRules
        #expect(resolved.tier.count == model.loadBalancerRules.count)
        for (position, rule) in model.loadBalancerRules.enumerated() {
            #expect(Int(resolved.tier[position]) == validated.tierIndex[rule.networkID])
            #expect(Int(resolved.publicIP[position]) == validated.publicIPIndex[rule.publicIPID])
            let addresses = rule.virtualMachineIDs.map { id in
                model.virtualMachines[validated.vmIndex[id]!].nics.first {
                    $0.networkID == rule.networkID
                }!.ipAddress
            }
            #expect(Array(resolved.vmAddresses(ofRule: position)) == addresses)
            #expect(
                resolved.vms(ofRule: position).map(Int.init)
                    == rule.virtualMachineIDs.map { validated.vmIndex[$0]! })
            #expect(resolved.idDigest[position] == Digest.xxh3(rule.id))
            #expect(resolved.isActive[position] == rule.isActive)
        }
        #expect(resolved.isActive.count { !$0 } == 4)
    }

    @Test func aLongArrayDecodesToEveryElementInOrder() throws {
        let corpus = try CorpusValidator.load(file: "big.json", bytes: Self.corpus(breaking: []))
        #expect(corpus.corpus.loadBalancerRules.map(\.id) == (0..<10_000).map { "lb-\($0)" })
    }

    @Test func ruleChecksAndCrossRuleChecksComeInRuleOrder() throws {
        var document =
            try JSONSerialization.jsonObject(with: Data(CorpusGenerator(rules: 10_000).generate()))
            as! [String: Any]
        var rules = document["loadbalancerrules"] as! [[String: Any]]
        // Rules 7000 and 9000 take rule 3's listener; rules 5000 and 9500 break their own
        // checks.
        for taker in [7000, 9000] {
            for key in ["publicipid", "networkid", "publicport", "virtualmachineids"] {
                rules[taker][key] = rules[3][key]
            }
        }
        rules[5000]["protocol"] = "udp"
        rules[9500]["publicport"] = 8081
        document["loadbalancerrules"] = rules
        let bytes = Array(try JSONSerialization.data(withJSONObject: document))
        do {
            _ = try CorpusValidator.load(file: "big.json", bytes: bytes)
            Issue.record("a corpus with conflicting rules was accepted")
        } catch {
            let found = error.diagnostics.map { "\($0.path): \($0.message)" }
            #expect(found.count == 4)
            #expect(found.first?.hasPrefix("loadbalancerrules[5000].protocol") == true)
            let listener = "\(rules[3]["publicport"]!)"
            for (index, taker) in [7000, 9000].enumerated() {
                #expect(
                    found.dropFirst(index + 1).first
                        == "loadbalancerrules[\(taker)].publicport (id \"lb-\(taker)\"): conflicts with rule \"lb-3\": both load balance 100.64.0.1:\(listener)"
                )
            }
            #expect(found.last?.hasPrefix("loadbalancerrules[9500].publicport") == true)
        }
    }
}
