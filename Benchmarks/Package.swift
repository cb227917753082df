// swift-tools-version:6.1
// Benchmarks live in their own package so that the product's build and tests stay fast.
// Run: cd Benchmarks && swift package benchmark   (see ../BENCHMARKS.md)
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between checkouts.
let productPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "main")

let package = Package(
    name: "lightmeter-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ParserBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PostfixLog", package: productPackage),
                .product(name: "Tracking", package: productPackage),
            ],
            path: "Benchmarks/ParserBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
