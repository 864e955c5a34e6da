// swift-tools-version: 6.1
// libFuzzer targets, a nested package built only by `make fuzz` (Fuzz/run.sh): every module,
// the library code under test included, is compiled with `-sanitize=fuzzer,address`.
import PackageDescription

let fuzzTarget = { (name: String, product: String) in
    Target.executableTarget(
        name: name,
        dependencies: ["FuzzDriver", .product(name: product, package: "inlinelb")],
        path: "Sources/\(name)")
}

let package = Package(
    name: "inlinelb-fuzz",
    dependencies: [.package(name: "inlinelb", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        fuzzTarget("fuzz-corpus", "InlineLBCompiler"),
        fuzzTarget("fuzz-haproxy", "InlineLBSimulator"),
        fuzzTarget("fuzz-iptables", "InlineLBSimulator"),
    ]
)
