// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "inlinelb",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "inlinelb", targets: ["inlinelb"]),
        .library(name: "InlineLBCore", targets: ["InlineLBCore"]),
        .library(name: "InlineLBCompiler", targets: ["InlineLBCompiler"]),
        .library(name: "InlineLBSimulator", targets: ["InlineLBSimulator"]),
        .library(name: "InlineLBVerify", targets: ["InlineLBVerify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .systemLibrary(
            name: "CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        .target(name: "CInlineLBSystem"),
        .target(name: "InlineLBCore", dependencies: ["CXXHash", "CInlineLBSystem"]),
        .target(name: "InlineLBCompiler", dependencies: ["InlineLBCore"]),
        .target(name: "InlineLBSimulator", dependencies: ["InlineLBCore"]),
        .target(name: "InlineLBVerify", dependencies: ["InlineLBCompiler", "InlineLBSimulator"]),
        .executableTarget(
            name: "inlinelb",
            dependencies: [
                "InlineLBCompiler", "InlineLBSimulator", "InlineLBVerify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "InlineLBCoreTests", dependencies: ["InlineLBCore"]),
        .testTarget(
            name: "InlineLBCompilerTests",
            dependencies: ["InlineLBCompiler", "InlineLBCore"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "InlineLBSimulatorTests",
            dependencies: [
                "InlineLBSimulator", "InlineLBVerify", "InlineLBCompiler", "InlineLBCore",
            ]
        ),
        .testTarget(name: "InlineLBEndToEndTests", dependencies: ["InlineLBCore"]),
    ]
)
