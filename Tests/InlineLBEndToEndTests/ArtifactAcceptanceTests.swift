import Foundation
import Testing

/// Every emitted HAProxy file passes the installed `haproxy -c`, and every iptables file
/// passes `iptables-restore --test` and then really loads, inside a network namespace this
/// test creates and removes (the nf_tables backend's `--test` only parses: it accepts jumps
/// to chains that do not exist, which only a real load refuses).
@Suite("Artifacts accepted by the real tools", .serialized)
struct ArtifactAcceptanceTests {
    static let haproxy = findTool("haproxy")
    static let ip = findTool("ip")
    static let iptablesRestore = findTool("iptables-restore")

    private func compileAll() throws -> (folder: URL, files: [String]) {
        let folder = try temporaryFolder()
        let out = folder.appendingPathComponent("out")
        let result = try run(
            inlinelbBinary.path, ["compile"] + (try bundledCorpora()) + ["-o", out.path],
            in: packageRoot)
        #expect(result.status == 0, "\(result.stderr)")
        return (folder, filesBelow(out).map { out.appendingPathComponent($0).path })
    }

    @Test(
        "haproxy -c accepts every emitted haproxy.cfg",
        .enabled(if: haproxy != nil, "haproxy is not installed (make test installs it)"))
    func haproxyAcceptsEveryConfig() throws {
        let (folder, files) = try compileAll()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configs = files.filter { $0.hasSuffix("/haproxy.cfg") }
        #expect(configs.count >= 7)
        for config in configs {
            let result = try run(Self.haproxy!, ["-c", "-f", config])
            #expect(result.status == 0, "\(config): \(result.stdout)\(result.stderr)")
            #expect(!result.stderr.contains("[ALERT]"), "\(config): \(result.stderr)")
        }
    }

    @Test(
        "iptables-restore --test accepts every emitted rules file",
        .enabled(if: isRoot, "needs root to create a network namespace (CI runs as root)"),
        .enabled(
            if: ip != nil && iptablesRestore != nil,
            "ip or iptables-restore is not installed (make test installs them)"))
    func iptablesAcceptsEveryRulesFile() throws {
        let (folder, files) = try compileAll()
        defer { try? FileManager.default.removeItem(at: folder) }
        let namespace = "inlinelb-test-\(getpid())"
        let created = try run(Self.ip!, ["netns", "add", namespace])
        #expect(created.status == 0, "\(created.stderr)")
        defer { _ = try? run(Self.ip!, ["netns", "delete", namespace]) }
        let rules = files.filter { $0.hasSuffix(".iptables") || $0.hasSuffix("/iptables.rules") }
        #expect(rules.count >= 14)
        for file in rules {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            let tested = try run(
                Self.ip!, ["netns", "exec", namespace, Self.iptablesRestore!, "--test"],
                input: bytes)
            #expect(tested.status == 0, "\(file): \(tested.stderr)")
            let loaded = try run(
                Self.ip!, ["netns", "exec", namespace, Self.iptablesRestore!], input: bytes)
            #expect(loaded.status == 0, "\(file): \(loaded.stderr)")
        }
        // Deliberately broken files are refused, so the checks above can fail.
        let badPort = Array("*filter\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n".utf8)
        let refusedByTest = try run(
            Self.ip!, ["netns", "exec", namespace, Self.iptablesRestore!, "--test"], input: badPort)
        #expect(refusedByTest.status != 0)
        let badChain = Array("*filter\n-A INPUT -j NOSUCH\nCOMMIT\n".utf8)
        let refusedByLoad = try run(
            Self.ip!, ["netns", "exec", namespace, Self.iptablesRestore!], input: badChain)
        #expect(refusedByLoad.status != 0)
        let namespaces = try run(Self.ip!, ["netns", "list"])
        #expect(namespaces.stdout.contains(namespace))
    }
}
