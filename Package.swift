// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "lightmeter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lightmeter", targets: ["lightmeter"]),
        .library(name: "PostfixLog", targets: ["PostfixLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        // bytes -> typed records. No dependencies, no I/O.
        .target(
            name: "PostfixLog",
            swiftSettings: swiftSettings + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .systemLibrary(name: "CBzip2", path: "Sources/CBzip2"),
        // sources: files (plain, gzip, bzip2), streams, line splitting.
        .target(
            name: "Ingest",
            dependencies: [
                "PostfixLog",
                "CBzip2",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lightmeter",
            dependencies: [
                "PostfixLog",
                "Ingest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PostfixLogTests", dependencies: ["PostfixLog"], swiftSettings: swiftSettings),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "PostfixLog"], swiftSettings: swiftSettings),
        .testTarget(name: "lightmeterTests", dependencies: ["lightmeter"], swiftSettings: swiftSettings),
    ]
)
