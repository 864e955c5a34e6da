import InlineLBCore
import Testing

@testable import InlineLBCompiler

@Suite("Planner lifecycle")
struct PlannerTests {
    typealias Rule = CorpusBuilder.Rule

    private var oneRule: CorpusBuilder {
        CorpusBuilder(rules: [Rule(id: "http", ip: "ip-1", port: 80)])
    }

    @Test func firstLiveRuleDeploysTheApplianceAndMapsThePublicIP() throws {
        let plan = try oneRule.plan()
        #expect(
            plan.kinds == [
                .deployAppliance, .addSecondaryIp, .enableStaticNat, .addApplianceAddress,
                .applyLbConfig,
            ])
        let appliance = try #require(plan.state.appliances.first)
        #expect(plan.state.appliances.count == 1)
        #expect(appliance.name == "b-1-VM")
        #expect(appliance.guestIP.description == "10.1.1.2")
        #expect(appliance.linkLocalIP.description == "169.254.0.2")
        #expect(appliance.mappings.map(\.secondaryIP.description) == ["10.1.1.3"])
        #expect(appliance.publicIPList == "203.0.113.11")
        let config = try #require(plan.appliances.first?.config)
        #expect(config.rules.map(\.sourceIP.description) == ["10.1.1.3"])
        #expect(config.rules.first?.publicIP.description == "203.0.113.11")
    }

    @Test func theGuestMACAddressSpellsTheVMNumberInHex() throws {
        var record = try #require(oneRule.plan().state.appliances.first)
        #expect(record.guestMACAddress == "02:00:00:00:00:01")
        for (number, mac) in [
            (0x1234_5678, "02:00:12:34:56:78"), (0xABCD_EF09, "02:00:ab:cd:ef:09"),
            (0x1_0000_00FF, "02:00:00:00:00:ff"), (0xA0B, "02:00:00:00:0a:0b"),
        ] {
            record.number = number
            #expect(record.guestMACAddress == mac)
        }
    }

    @Test func reapplyingAnUnchangedCorpusSendsNothing() throws {
        let first = try oneRule.plan()
        let second = try oneRule.plan(from: first.state)
        #expect(second.actions.isEmpty)
        #expect(second.state == first.state)
    }

    @Test func aChangedRuleOnlyResendsTheConfig() throws {
        let first = try oneRule.plan()
        var changed = oneRule
        changed.rules[0].privatePort = 9090
        let second = try changed.plan(from: first.state)
        #expect(second.kinds == [.applyLbConfig])
        #expect(second.actions[0].reason == "rules changed")
        #expect(second.state.appliances[0].mappings == first.state.appliances[0].mappings)
    }

    @Test func mappingsKeepInsertionOrderAcrossApplies() throws {
        let first = try oneRule.plan()
        var more = oneRule
        more.rules.insert(Rule(id: "ssh", ip: "ip-2", port: 2222), at: 0)
        let second = try more.plan(from: first.state)
        #expect(
            second.kinds == [
                .addSecondaryIp, .enableStaticNat, .addApplianceAddress, .applyLbConfig,
            ])
        #expect(second.state.appliances[0].publicIPList == "203.0.113.11, 203.0.113.12")
        #expect(
            second.state.appliances[0].mappings.map(\.secondaryIP.description) == [
                "10.1.1.3", "10.1.1.4",
            ])
    }

    @Test func newPublicIPsAreMappedInTheOrderOfTheirFirstLiveRule() throws {
        let corpus = CorpusBuilder(rules: [
            Rule(id: "a", ip: "ip-3", port: 80), Rule(id: "b", ip: "ip-1", port: 80),
            Rule(id: "c", ip: "ip-3", port: 81),
        ])
        let plan = try corpus.plan()
        #expect(plan.state.appliances[0].publicIPList == "203.0.113.13, 203.0.113.11")
    }

    @Test func rulesWithoutVMsAndRevokedRulesAreIgnored() throws {
        let corpus = CorpusBuilder(rules: [
            Rule(id: "live", ip: "ip-1", port: 80),
            Rule(id: "pending", ip: "ip-2", port: 80, vms: []),
            Rule(id: "gone", ip: "ip-3", port: 80, state: "Revoke"),
        ])
        let plan = try corpus.plan()
        #expect(plan.state.appliances[0].mappings.map(\.publicIPID) == ["ip-1"])
        #expect(plan.appliances[0].config.rules.map(\.ruleID) == ["live"])
    }

    @Test func onlyRulesWithoutVMsMeansNoAppliance() throws {
        let plan = try CorpusBuilder(rules: [Rule(id: "pending", ip: "ip-1", port: 80, vms: [])])
            .plan()
        #expect(plan.actions.isEmpty)
        #expect(plan.state.appliances.isEmpty)
    }

    @Test func aPublicIPLosingItsLastRuleReleasesMappingAndAddress() throws {
        let both = CorpusBuilder(rules: [
            Rule(id: "a", ip: "ip-1", port: 80), Rule(id: "b", ip: "ip-2", port: 80),
        ])
        let first = try both.plan()
        var fewer = both
        fewer.rules[0].vms = []
        let second = try fewer.plan(from: first.state)
        #expect(
            second.kinds == [
                .disableStaticNat, .removeApplianceAddress, .removeSecondaryIp, .applyLbConfig,
            ])
        #expect(second.actions[0].publicIP?.description == "203.0.113.11")
        #expect(second.state.appliances[0].mappings.map(\.publicIPID) == ["ip-2"])
        var again = fewer
        again.rules.append(Rule(id: "c", ip: "ip-3", port: 80))
        let third = try again.plan(from: second.state)
        #expect(third.state.appliances[0].mappings.last?.secondaryIP.description == "10.1.1.3")
    }

    @Test func theLastRuleGoneDestroysTheAppliance() throws {
        let first = try CorpusBuilder(rules: [
            Rule(id: "a", ip: "ip-1", port: 80), Rule(id: "b", ip: "ip-2", port: 80),
        ]).plan()
        let second = try CorpusBuilder(rules: [Rule(id: "a", ip: "ip-1", port: 80, state: "Revoke")]
        ).plan(from: first.state)
        #expect(
            second.kinds == [
                .disableStaticNat, .removeSecondaryIp, .disableStaticNat, .removeSecondaryIp,
                .destroyAppliance,
            ])
        #expect(second.state.appliances.isEmpty)
        #expect(
            second.pools.first { $0.name == "link-local" }?.free
                == second.pools.first { $0.name == "link-local" }?.capacity)
        let third = try oneRule.plan(from: second.state)
        #expect(third.state.appliances[0].name == "b-2-VM")
        #expect(third.state.appliances[0].guestIP.description == "10.1.1.2")
    }

    @Test func aStoppedApplianceKeepsItsMappingsAndIsSentNothing() throws {
        let running = try oneRule.plan()
        var stopped = oneRule
        stopped.applianceState = "Stopped"
        let stop = try stopped.plan(from: running.state)
        #expect(stop.kinds == [.stopAppliance])
        #expect(stop.state.appliances[0].state == .stopped)
        #expect(stop.state.appliances[0].mappings == running.state.appliances[0].mappings)

        var grown = stopped
        grown.rules.append(Rule(id: "b", ip: "ip-2", port: 80))
        let whileStopped = try grown.plan(from: stop.state)
        #expect(whileStopped.kinds == [.addSecondaryIp, .enableStaticNat])

        var started = grown
        started.applianceState = "Running"
        let start = try started.plan(from: whileStopped.state)
        #expect(
            start.kinds == [.startAppliance, .enableStaticNat, .enableStaticNat, .applyLbConfig])
        #expect(start.state.appliances[0].state == .running)
    }

    @Test func restartWithoutCleanupReappliesInPlace() throws {
        let first = try oneRule.plan()
        let restart = try oneRule.plan(
            from: first.state, restarts: [NetworkRestart(networkID: "tier-web", cleanup: false)])
        #expect(restart.kinds == [.enableStaticNat, .applyLbConfig])
        #expect(restart.state.appliances[0].name == "b-1-VM")
    }

    @Test func restartWithCleanupRedeploysWithTheSameMappingOrder() throws {
        let corpus = CorpusBuilder(rules: [
            Rule(id: "a", ip: "ip-2", port: 80), Rule(id: "b", ip: "ip-1", port: 80),
        ])
        let first = try corpus.plan()
        let restart = try corpus.plan(
            from: first.state, restarts: [NetworkRestart(networkID: "tier-web", cleanup: true)])
        #expect(
            restart.kinds == [
                .disableStaticNat, .removeSecondaryIp, .disableStaticNat, .removeSecondaryIp,
                .destroyAppliance,
                .deployAppliance, .addSecondaryIp, .enableStaticNat, .addApplianceAddress,
                .addSecondaryIp,
                .enableStaticNat, .addApplianceAddress, .applyLbConfig,
            ])
        let before = first.state.appliances[0]
        let after = restart.state.appliances[0]
        #expect(after.name == "b-2-VM")
        #expect(after.publicIPList == before.publicIPList)
        #expect(after.mappings.map(\.secondaryIP) == before.mappings.map(\.secondaryIP))
        #expect(after.guestIP == before.guestIP)
    }

    @Test func restartStartsAStoppedAppliance() throws {
        var stopped = oneRule
        stopped.applianceState = "Stopped"
        let first = try stopped.plan()
        #expect(first.state.appliances[0].state == .stopped)
        let restart = try stopped.plan(
            from: first.state, restarts: [NetworkRestart(networkID: "tier-web", cleanup: false)])
        #expect(restart.kinds == [.startAppliance, .enableStaticNat, .applyLbConfig])
        #expect(restart.state.appliances[0].state == .running)
    }

    @Test func aTierLeavingTheCorpusLosesItsAppliance() throws {
        let first = try oneRule.plan()
        var gone = oneRule
        gone.includeTier = false
        gone.rules = []
        let second = try gone.plan(from: first.state)
        #expect(second.kinds == [.disableStaticNat, .removeSecondaryIp, .destroyAppliance])
        #expect(second.actions.last?.reason == "network no longer served by VpcInlineLbVm")
    }

    @Test func aStateThatClashesWithTheCorpusIsRefused() throws {
        let first = try oneRule.plan()
        var clash = oneRule
        clash.extraVMs = [("vm-9", "10.1.1.3")]
        #expect(throws: PlanError.self) { try clash.plan(from: first.state) }
        do {
            _ = try clash.plan(from: first.state)
        } catch let error as PlanError {
            #expect(error.message.contains("appliance b-1-VM holds 10.1.1.3"))
            #expect(error.message.contains("VM \"vm-9\""))
        }
    }

    @Test func restartingAnUnknownNetworkIsRefused() throws {
        #expect(throws: PlanError.self) {
            try oneRule.plan(restarts: [NetworkRestart(networkID: "tier-db", cleanup: true)])
        }
    }

    @Test func planningIsDeterministic() throws {
        let corpus = try readPackageFile("corpora/shared-appliance.json")
        let validated = try CorpusValidator.load(file: "shared-appliance.json", bytes: corpus)
        let first = try Compilation(
            corpus: validated, inputFile: "x.json", input: OutputFile.Artifact(of: corpus))
        let second = try Compilation(
            corpus: validated, inputFile: "x.json", input: OutputFile.Artifact(of: corpus))
        #expect(first.files.map(\.path) == second.files.map(\.path))
        #expect(first.files.map(\.bytes) == second.files.map(\.bytes))
    }
}
