// swift-tools-version: 6.1
// A nested package, so that `swift test` at the top never builds the benchmark dependencies.
import PackageDescription

let package = Package(
    name: "inlinelb-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "inlinelb", path: ".."),
        .package(
            url: "https://github.com/ordo-one/benchmark", exact: "1.38.1",
            traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "InlineLBBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "InlineLBCompiler", package: "inlinelb"),
                .product(name: "InlineLBSimulator", package: "inlinelb"),
                .product(name: "InlineLBCore", package: "inlinelb"),
            ],
            path: "Benchmarks/InlineLBBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "inlinelb-throughput",
            dependencies: [
                .product(name: "InlineLBCompiler", package: "inlinelb"),
                .product(name: "InlineLBSimulator", package: "inlinelb"),
                .product(name: "InlineLBCore", package: "inlinelb"),
            ],
            path: "Sources/inlinelb-throughput"
        ),
    ]
)
