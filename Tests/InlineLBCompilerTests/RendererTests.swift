import Foundation
import InlineLBCore
import Testing

@testable import InlineLBCompiler

@Suite("HAProxy and firewall rendering")
struct RendererTests {
    private func config(rules: [TranslatedRule], keepAlive: Bool = false) -> LoadBalancerConfig {
        LoadBalancerConfig(
            appliance: "b-1-VM", guestIP: IPv4Address("10.1.1.2")!, maxConnections: 1000,
            keepAliveEnabled: keepAlive,
            rules: rules)
    }

    private func rule(port: Int, stickiness: StickinessPolicy? = nil) -> TranslatedRule {
        TranslatedRule(
            ruleID: "r", publicIP: IPv4Address("203.0.113.10")!, sourceIP: IPv4Address("10.1.1.3")!,
            sourcePort: port,
            algorithm: .roundrobin, lbProtocol: .tcp, cidrs: [],
            destinations: [.init(vmID: "vm-1", address: IPv4Address("10.1.1.11")!, port: 8080)],
            stickiness: stickiness, healthCheck: nil)
    }

    private func text(_ config: LoadBalancerConfig) -> String {
        String(decoding: HAProxyConfigRenderer.render(config), as: UTF8.self)
    }

    /// A long action list is rendered in parts on all cores: the joined bytes are its lines
    /// in order, numbered from 1.
    @Test func longActionListsRenderLineByLineInOrder() throws {
        let plan = try Planner.plan(
            state: .empty,
            corpus: try CorpusValidator.load(
                file: "g.json", bytes: CorpusGenerator(rules: 3000).generate()))
        let actions = Array(repeating: plan.actions, count: 6).joined().map { $0 }
        try #require(actions.count >= 4096)
        var expected = ByteWriter()
        for (index, action) in actions.enumerated() {
            DocumentRenderers.writeActionLine(action, sequence: index + 1, to: &expected)
            expected.newline()
        }
        #expect(Array(DocumentRenderers.actions(actions).joined()) == expected.bytes)
        #expect(DocumentRenderers.actions([]).isEmpty)
    }

    @Test func noLiveRuleRendersCloudStacksDummyListener() {
        let rendered = text(config(rules: []))
        #expect(rendered.hasSuffix("listen  vmops\n\tbind 0.0.0.0:9\n\toption transparent\n"))
        #expect(rendered.contains("\tmaxconn 1000\n\tmaxpipes 250\n"))
    }

    @Test func keepAliveTurnsHttpcloseOff() {
        let rendered = text(config(rules: [rule(port: 80)], keepAlive: true))
        #expect(!rendered.contains("\toption httpclose"))
        #expect(rendered.contains("\tmode http\n\tno option httpclose\n"))
    }

    /// The `listen` block of the rule on `port`.
    private func listenBlock(_ rendered: String, port: Int) -> String {
        rendered.components(separatedBy: "\n\n").first { $0.hasPrefix("listen 10_1_1_3-\(port)") }
            ?? ""
    }

    @Test func httpModeOnlyForPort80OrHTTPStickiness() {
        #expect(
            listenBlock(text(config(rules: [rule(port: 80)])), port: 80).contains("\tmode http\n"))
        #expect(
            !listenBlock(text(config(rules: [rule(port: 8080)])), port: 8080).contains("mode http"))
        let source = StickinessPolicy(method: .sourceBased, name: "s", params: [])
        let sourceBlock = listenBlock(
            text(config(rules: [rule(port: 8080, stickiness: source)])), port: 8080)
        #expect(!sourceBlock.contains("mode http"))
        #expect(
            sourceBlock.hasSuffix("\tstick-table type ip size 200k expire 30m\n\tstick on src\n"))
        let cookie = StickinessPolicy(method: .lbCookie, name: "c", params: [])
        let cookieBlock = listenBlock(
            text(config(rules: [rule(port: 8080, stickiness: cookie)])), port: 8080)
        #expect(
            cookieBlock.hasSuffix(
                "check cookie 10_1_1_11-8080\n\tcookie lbcooki_512476650_8080 insert\n\tmode http\n\toption httpclose\n"
            ))
    }

    @Test func appCookieUsesStickTablesNotAppsession() {
        let policy = StickinessPolicy(
            method: .appCookie, name: "a",
            params: [("cookie-name", "SID"), ("mode", "query-string")])
        let rendered = text(config(rules: [rule(port: 8080, stickiness: policy)]))
        #expect(!rendered.contains("appsession"))
        #expect(rendered.contains("\tstick-table type string len 52 size 200k expire 3h\n"))
        #expect(
            rendered.contains(
                "\tstick store-response res.cook(SID)\n\tstick match req.cook(SID)\n\tstick match urlp(SID)\n"
            ))
    }

    @Test func javaHashCodeMatchesJava() {
        // Values computed with Java's s[0]*31^(n-1) + ... + s[n-1] in 32-bit arithmetic.
        #expect(HAProxyConfigRenderer.javaHashCode("10.1.1.3") == 512_476_650)
        #expect(HAProxyConfigRenderer.javaHashCode("") == 0)
        #expect(HAProxyConfigRenderer.javaHashCode("203.0.113.255") == -2_088_353_984)
    }

    @Test func applianceFirewallAdmitsEachListenerAndTheStatsPort() {
        let rendered = String(
            decoding: ApplianceFirewallRenderer.render(config(rules: [rule(port: 443)])),
            as: UTF8.self)
        #expect(rendered.contains(":INPUT DROP [0:0]\n"))
        #expect(
            rendered.contains(
                "-A INPUT -d 10.1.1.2/32 -p tcp -m tcp --dport 8081 -m state --state NEW -j ACCEPT\n"
            ))
        #expect(
            rendered.contains(
                "-A INPUT -d 10.1.1.3/32 -p tcp -m tcp --dport 443 -m state --state NEW -j ACCEPT\n"
            ))
        #expect(rendered.hasSuffix("COMMIT\n"))
    }
}

@Suite("State file")
struct StateFileTests {
    @Test func roundTripsThroughJSON() throws {
        let plan = try CorpusBuilder(rules: [
            .init(id: "a", ip: "ip-2", port: 80), .init(id: "b", ip: "ip-1", port: 443),
        ]).plan()
        let bytes = plan.state.document(pools: plan.pools)
        let decoded = try DeploymentState(file: "state.json", bytes: bytes)
        #expect(decoded == plan.state)
    }

    @Test(
        "malformed state files are refused with a path",
        arguments: [
            (
                #"{"format":"inlinelb-state/9","nextappliancenumber":1,"nextmappingnumber":1,"appliances":[]}"#,
                "format: unsupported state format"
            ),
            (
                #"{"format":"inlinelb-state/1","nextappliancenumber":1,"nextmappingnumber":1,"appliances":[],"extra":1}"#,
                "extra: unknown field"
            ),
            (
                #"{"format":"inlinelb-state/1","nextappliancenumber":1,"nextmappingnumber":1}"#,
                "missing required field \"appliances\""
            ),
        ])
    func refused(_ text: String, _ fragment: String) {
        do {
            _ = try DeploymentState(file: "s.json", bytes: Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }
}
