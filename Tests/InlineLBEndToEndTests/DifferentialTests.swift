import Foundation
import Testing

/// Ground truth: every bundled corpus deployed for real in network namespaces (the real
/// haproxy, the real kernel's netfilter) must agree with the simulator flow by flow.
/// The harness is `Tests/difftest/difftest.py`; it cleans up every namespace and process.
@Suite("Differential test against the real HAProxy and kernel")
struct DifferentialTests {
    static let python = findTool("python3")
    static let ready =
        isRoot && python != nil && findTool("haproxy") != nil && findTool("iptables-restore") != nil
        && findTool("ip") != nil

    @Test(
        "every flow of every bundled corpus agrees with the real stack",
        .enabled(
            if: ready,
            "needs root, python3, haproxy, iptables-restore and ip (CI runs as root; make test installs them)"
        ),
        .timeLimit(.minutes(5)))
    func realStackAgreesWithTheSimulator() throws {
        let script = packageRoot.appendingPathComponent("Tests/difftest/difftest.py").path
        let result = try run(
            Self.python!, [script, "--inlinelb", inlinelbBinary.path] + (try bundledCorpora()),
            in: packageRoot)
        print(result.stdout, terminator: "")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(", 0 mismatches"))
        let summary = result.stdout.split(separator: "\n").last { $0.hasPrefix("difftest: ") } ?? ""
        let compared = Int(summary.split(separator: " ").dropFirst().first ?? "") ?? 0
        #expect(compared > 500, "\(summary)")
        let leftovers = try run(findTool("ip")!, ["netns", "list"]).stdout
        #expect(!leftovers.contains("ilbdt"), "namespaces left behind: \(leftovers)")
    }
}
