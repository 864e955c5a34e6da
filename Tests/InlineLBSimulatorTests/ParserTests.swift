import InlineLBCore
import Testing

@testable import InlineLBSimulator

@Suite("Artifact parsers")
struct ParserTests {
    @Test func iptablesSaveParsesMatchesAndTargets() throws {
        let text = """
            # comment
            *nat
            :PREROUTING ACCEPT [0:0]
            -A PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination 10.1.1.3:8080
            COMMIT
            *filter
            :INPUT DROP [0:0]
            :CHAIN_X - [0:0]
            -A INPUT ! -s 10.0.0.0/8 -p tcp -m tcp --dport 80:90 -i eth+ -m state --state NEW,ESTABLISHED -j CHAIN_X
            -A CHAIN_X -m conntrack --ctstate NEW -j RETURN
            COMMIT
            """
        let rules = try IptablesParser.parse(text, file: "r.iptables")
        let dnat = try #require(rules.chain("nat", "PREROUTING")?.rules.first)
        guard case .dnat(let address, let port) = dnat.target else {
            Issue.record("expected DNAT")
            return
        }
        #expect(address.description == "10.1.1.3" && port == 8080)
        let input = try #require(rules.chain("filter", "INPUT")?.rules.first)
        #expect(input.source?.negated == true)
        #expect(input.destinationPorts?.range == 80...90)
        #expect(input.inInterface?.matches("eth7") == true)
        #expect(input.states?.states == [.new, .established])
        #expect(input.line == 9)
    }

    @Test(
        "unmodelled iptables input is reported with file and line",
        arguments: [
            (
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -m recent --set -j ACCEPT\nCOMMIT\n", 3,
                "unmodelled match module recent"
            ),
            ("*filter\n:INPUT DROP [0:0]\n-A INPUT -j LOG\nCOMMIT\n", 3, "unmodelled target LOG"),
            (
                "*filter\n:INPUT DROP [0:0]\n-A INPUT --foo -j ACCEPT\nCOMMIT\n", 3,
                "unmodelled option --foo"
            ),
            (
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -j NOSUCH\nCOMMIT\n", 3,
                "jump to undeclared chain NOSUCH"
            ),
            ("*filter\n:INPUT DROP [0:0]\n", 0, "missing COMMIT"),
            ("*security\nCOMMIT\n", 1, "unmodelled table security"),
        ])
    func iptablesErrors(_ text: String, _ line: Int, _ message: String) {
        do {
            _ = try IptablesParser.parse(text, file: "x.iptables")
            Issue.record("accepted")
        } catch {
            #expect(error.line == line)
            #expect(error.description.hasPrefix("x.iptables"))
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func haproxyLinesSplitAsHAProxySplitsThem() {
        // The reference: HAProxy's rules one byte at a time. `\` makes the next byte part of
        // the word, blanks end words, `#` outside a word ends the line.
        func reference(_ line: [UInt8]) -> [String] {
            var words = ReferenceWords()
            var escaped = false
            for byte in line {
                if escaped {
                    words.append(byte)
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "#") && !words.inWord {
                    break
                } else if Array(" \t\r".utf8).contains(byte) {
                    words.end()
                } else {
                    words.append(byte)
                }
            }
            words.end()
            return words.tokens
        }
        #expect(
            reference(Array("stats realm   Haproxy\\ Statistics # c".utf8)) == [
                "stats", "realm", "Haproxy Statistics",
            ])
        var tokens: [String] = []
        var word: [UInt8] = []
        for line in randomLines(of: "ab \t\\#\r") {
            HAProxyParser.tokenize(line, into: &tokens, word: &word)
            #expect(tokens == reference(Array(line)), "line \(line)")
        }
    }

    @Test func iptablesLinesSplitAtUnquotedSpaces() {
        // The reference, one byte at a time: quotes toggle, are dropped and make a word even
        // when empty; unquoted spaces end words.
        func reference(_ line: [UInt8]) -> [String]? {
            var words = ReferenceWords()
            var quoted = false
            for byte in line {
                if byte == UInt8(ascii: "\"") {
                    quoted.toggle()
                    words.start()
                } else if byte == UInt8(ascii: " ") && !quoted {
                    words.end()
                } else {
                    words.append(byte)
                }
            }
            if quoted { return nil }
            words.end()
            return words.tokens
        }
        #expect(
            reference(Array("-m comment --comment \"a b\"".utf8)) == [
                "-m", "comment", "--comment", "a b",
            ])
        for line in randomLines(of: "ab \"") {
            let tokens = try? IptablesParser.tokenize(line) {
                ArtifactError(file: "f", line: 1, $0)
            }
            #expect(tokens == reference(Array(line)), "line \(line)")
        }
    }

    @Test func haproxyConfigParsesProxiesServersAndPersistence() throws {
        let text = """
            global
            \tmaxconn 4096
            defaults
            \tmode    tcp
            \toption httpclose
            listen stats_on_guest
            \tbind 10.1.1.2:8081
            \tstats realm   Haproxy\\ Statistics
            frontend web
            \tbind :80
            \tmode http
            \tdefault_backend pool
            backend pool
            \tmode http
            \tbalance static-rr
            \thash-type consistent
            \tacl network_allowed src 198.51.100.0/24
            \ttcp-request connection reject if !network_allowed
            \tserver a 10.1.1.11:8080 check weight 3 cookie A
            \tserver b 10.1.1.12:8080 backup disabled send-proxy
            \tcookie SRV insert indirect nocache
            \tstick-table type string len 52 size 200k expire 3h
            \tstick store-response res.cook(JSESSIONID)
            \tstick match req.cook(JSESSIONID)
            """
        let config = try HAProxyParser.parse(text, file: "h.cfg")
        #expect(config.proxies.map(\.name) == ["stats_on_guest", "web", "pool"])
        #expect(config.proxies[0].isStats)
        let frontend = config.proxies[1]
        #expect(frontend.binds.first?.address == nil && frontend.binds.first?.port == 80)
        #expect(frontend.defaultBackend == "pool")
        let pool = config.proxies[2]
        #expect(pool.algorithm == .staticRoundRobin && pool.consistentHash)
        #expect(pool.servers.map(\.weight) == [3, 1])
        #expect(pool.servers[1].backup && pool.servers[1].disabled && pool.servers[1].sendProxy)
        #expect(pool.cookie?.name == "SRV" && pool.cookie?.indirect == true)
        #expect(
            pool.stickMatchCookies == ["JSESSIONID"]
                && pool.stickStoreResponseCookie == "JSESSIONID")
        #expect(pool.connectionRejects.first?.negated == true)
    }

    @Test(
        "unmodelled haproxy directives are reported with file and line",
        arguments: [
            (
                "listen a\n\tbind 1.2.3.4:80\n\thttp-request deny\n", 3,
                "unmodelled directive 'http-request'"
            ),
            ("listen a\n\tbalance uri\n", 2, "unmodelled balance algorithm 'uri'"),
            (
                "listen a\n\tserver s 1.2.3.4:80 slowstart 10s\n", 2,
                "unmodelled server option 'slowstart'"
            ),
            ("global\n\tnbthread 4\n", 2, "unmodelled global directive 'nbthread'"),
            ("listen a\n\toption http-use-htx\n", 2, "unmodelled option 'http-use-htx'"),
            ("frontend f\n\tdefault_backend nope\n", 1, "default_backend nope does not exist"),
        ])
    func haproxyErrors(_ text: String, _ line: Int, _ message: String) {
        do {
            _ = try HAProxyParser.parse(text, file: "h.cfg")
            Issue.record("accepted")
        } catch {
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test(
        "traffic files name the field that is wrong and what it must be",
        arguments: [
            (
                #"{"format": "inlinelb-traffic/1", "flows": [{"client": "198.51.100.7"}]}"#,
                #"unknown field "client"; the fields are target, count, clients, clientcidr, concurrency, cookies"#
            ),
            (
                #"{"format": "inlinelb-traffic/1", "flows": [{"target": "203.0.113.10:80", "count": -3}]}"#,
                #""count" must be an integer from 1 to 10000000, found -3"#
            ),
            (
                #"{"format": "inlinelb-traffic/1", "seed": "x", "flows": []}"#,
                #""seed" must be a non-negative integer, found a string"#
            ),
        ])
    func trafficErrors(_ text: String, _ message: String) {
        do {
            _ = try Traffic(bytes: Array(text.utf8), file: "t.json")
            Issue.record("accepted")
        } catch {
            #expect(error.message == message, "\(error)")
        }
    }
}

/// Words as a reference tokenizer builds them, one byte at a time.
private struct ReferenceWords {
    private(set) var tokens: [String] = []
    private var word: [UInt8] = []
    /// Whether a word has started (it may still be empty, as `""` is).
    private(set) var inWord = false

    mutating func start() { inWord = true }

    mutating func append(_ byte: UInt8) {
        word.append(byte)
        inWord = true
    }

    /// Ends the word, if one started.
    mutating func end() {
        if inWord { tokens.append(String(decoding: word, as: UTF8.self)) }
        word.removeAll()
        inWord = false
    }
}

/// 20,000 random lines of up to 12 bytes from `alphabet`, each a slice with a nonzero start,
/// as the lines of a file are.
private func randomLines(of alphabet: String) -> [ArraySlice<UInt8>] {
    var generator = SystemRandomNumberGenerator()
    let bytes = Array(alphabet.utf8)
    return (0..<20_000).map { _ in
        let line = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
            bytes.randomElement(using: &generator)!
        }
        return ([UInt8(ascii: "\n")] + line)[1...]
    }
}

@Suite("Netfilter model")
struct NetfilterTests {
    private func packet(
        _ source: String, _ destination: String, port: Int, in inInterface: String? = "eth1",
        state: ConnectionState = .new
    ) -> Packet {
        Packet(
            source: IPv4Address(source)!, destination: IPv4Address(destination)!, sourcePort: 40000,
            destinationPort: port,
            inInterface: inInterface, outInterface: "eth2", state: state)
    }

    private let rules = """
        *filter
        :FORWARD DROP [0:0]
        :ACL - [0:0]
        :INNER - [0:0]
        -A FORWARD -m state --state ESTABLISHED -j ACCEPT
        -A FORWARD -o eth2 -j ACL
        -A FORWARD -p tcp -m tcp --dport 25 -j ACCEPT
        -A ACL -s 198.51.100.0/24 -j INNER
        -A ACL -p tcp -m tcp --dport 22 -j REJECT
        -A ACL -p tcp -m tcp ! --dport 1:1000 -j ACCEPT
        -A INNER -p tcp -m tcp --dport 443 -j RETURN
        -A INNER -p tcp -m tcp --dport 80 -j ACCEPT
        COMMIT
        """

    @Test func chainsJumpReturnAndFallBackToPolicy() throws {
        let engine = NetfilterEngine(ruleset: try IptablesParser.parse(rules, file: "f"))
        func verdict(_ packet: Packet) -> String {
            switch engine.run(hook: .forward, packet: packet, includeNAT: false).verdict {
            case .accept(let line): "accept@\(line?.line ?? 0)"
            case .drop(let line): "drop@\(line?.line ?? 0)"
            case .reject(let line): "reject@\(line.line)"
            default: "nat"
            }
        }
        #expect(verdict(packet("198.51.100.9", "10.1.1.3", port: 80)) == "accept@12")
        #expect(verdict(packet("198.51.100.9", "10.1.1.3", port: 443)) == "drop@2")
        #expect(verdict(packet("203.0.113.9", "10.1.1.3", port: 22)) == "reject@9")
        #expect(verdict(packet("203.0.113.9", "10.1.1.3", port: 5000)) == "accept@10")
        #expect(verdict(packet("203.0.113.9", "10.1.1.3", port: 25)) == "accept@7")
        #expect(
            verdict(packet("203.0.113.9", "10.1.1.3", port: 443, state: .established)) == "accept@5"
        )
    }

    @Test func walksSayWhetherARuleLookedAtTheClient() throws {
        let engine = NetfilterEngine(ruleset: try IptablesParser.parse(rules, file: "f"))
        func readsClient(_ packet: Packet, client: PacketEnd) -> Bool {
            engine.run(hook: .forward, packet: packet, includeNAT: false, client: client)
                .readsClient
        }
        // Out through eth2, the ACL's `-s 198.51.100.0/24` is tested: the client is read.
        #expect(readsClient(packet("203.0.113.9", "10.1.1.3", port: 5000), client: .source))
        // Out through eth3, every rule fails on the interface or the port first.
        var elsewhere = packet("198.51.100.9", "10.1.1.3", port: 5000)
        elsewhere.outInterface = "eth3"
        #expect(!readsClient(elsewhere, client: .source))
        // A reply (the client is its destination) passes on ESTABLISHED alone.
        #expect(
            !readsClient(
                packet("10.1.1.3", "198.51.100.9", port: 40000, state: .established),
                client: .destination))
        // Matches that admit every address or port do not read it.
        let universal = NetfilterEngine(
            ruleset: try IptablesParser.parse(
                """
                *filter
                :FORWARD DROP [0:0]
                -A FORWARD -s 0.0.0.0/0 -p tcp -m tcp --sport 0:65535 -j ACCEPT
                COMMIT
                """, file: "u"))
        let (verdict, reads) = universal.run(
            hook: .forward, packet: packet("198.51.100.9", "10.1.1.3", port: 80),
            includeNAT: false, client: .source)
        #expect(!reads)
        guard case .accept(let line) = verdict else {
            Issue.record("expected ACCEPT, got \(verdict)")
            return
        }
        #expect(line?.line == 3)
        #expect(universal.indexedAddresses.isEmpty)
        #expect(
            NetfilterEngine(ruleset: try IptablesParser.parse(rules, file: "f")).indexedAddresses
                .isEmpty)
    }

    @Test func addressSetsAnswerAsSetsDo() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 7, 1000, 50_000] {
            let members = Set(
                (0..<count).map { _ in UInt32.random(in: 0...0x00FF_FFFF, using: &generator) })
            let set = AddressSet(members)
            for member in members { #expect(set.contains(member)) }
            var misses = 0
            for _ in 0..<20_000 {
                let address = UInt32.random(in: 0...UInt32.max, using: &generator)
                if set.contains(address) != members.contains(address) { misses += 1 }
            }
            #expect(misses == 0)
        }
    }

    @Test func indexedRulesAreStillTriedInFileOrder() throws {
        let text = """
            *nat
            :PREROUTING ACCEPT [0:0]
            -A PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination 10.1.1.3
            -A PREROUTING -p tcp -m tcp --dport 22 -j ACCEPT
            -A PREROUTING -d 203.0.113.11/32 -j DNAT --to-destination 10.1.1.4
            -A PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination 10.1.1.9
            COMMIT
            """
        let engine = NetfilterEngine(ruleset: try IptablesParser.parse(text, file: "n"))
        func target(_ destination: String, port: Int) -> String {
            let packet = self.packet("198.51.100.9", destination, port: port)
            switch engine.run(hook: .prerouting, packet: packet, includeNAT: true).verdict {
            case .dnat(let address, _, let line): return "\(address)@\(line.line)"
            case .accept(let line): return "accept@\(line?.line ?? 0)"
            default: return "other"
            }
        }
        #expect(target("203.0.113.10", port: 80) == "10.1.1.3@3")
        #expect(target("203.0.113.11", port: 80) == "10.1.1.4@5")
        // A nat ACCEPT means no NAT: the later DNAT for .11 is not reached.
        #expect(target("203.0.113.11", port: 22) == "accept@0")
        #expect(target("203.0.113.10", port: 22) == "10.1.1.3@3")
        #expect(target("203.0.113.12", port: 80) == "accept@0")
    }

    @Test func sourceIndexedRulesInterleaveWithTheOthersInFileOrder() throws {
        let text = """
            *nat
            :POSTROUTING ACCEPT [0:0]
            -A POSTROUTING -s 10.1.1.3/32 -o eth9 -j SNAT --to-source 203.0.113.1
            -A POSTROUTING -d 10.1.1.7/32 -j SNAT --to-source 203.0.113.2
            -A POSTROUTING -p tcp -m tcp --dport 22 -j SNAT --to-source 203.0.113.3
            -A POSTROUTING -s 10.1.1.3/32 -j SNAT --to-source 203.0.113.4
            -A POSTROUTING -s 10.1.1.3/32 -d 10.1.1.8/32 -j SNAT --to-source 203.0.113.5
            COMMIT
            """
        let engine = NetfilterEngine(ruleset: try IptablesParser.parse(text, file: "s"))
        func source(_ from: String, _ to: String, port: Int) -> String {
            var packet = self.packet(from, to, port: port)
            packet.outInterface = "eth1"
            switch engine.run(hook: .postrouting, packet: packet, includeNAT: true).verdict {
            case .snat(let address, _, let line): return "\(address)@\(line.line)"
            case .accept: return "none"
            default: return "other"
            }
        }
        // The /32 source rule on eth9 does not match eth1; the next source rule does.
        #expect(source("10.1.1.3", "10.1.1.9", port: 80) == "203.0.113.4@6")
        // A generic rule earlier in the file wins over a later source-indexed one.
        #expect(source("10.1.1.3", "10.1.1.9", port: 22) == "203.0.113.3@5")
        // A destination-indexed rule earlier in the file wins too.
        #expect(source("10.1.1.3", "10.1.1.7", port: 80) == "203.0.113.2@4")
        // Indexed by destination though it names a source: found through the destination.
        #expect(source("10.1.1.4", "10.1.1.8", port: 80) == "none")
        #expect(source("10.1.1.9", "10.1.1.9", port: 80) == "none")
    }
}
