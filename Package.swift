// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]
/// The import's hot loop (Ingest's line loop, the tracker): in release builds, no dynamic checks of
/// exclusive access (a lock-like runtime call around each access to a variable that an escaping
/// closure captured, about 3% of the reading thread). Debug builds, and so the tests, keep them.
let hotLoopSettings = swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "lightmeter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lightmeter", targets: ["lightmeter"]),
        .library(name: "PostfixLog", targets: ["PostfixLog"]),
        .library(name: "Tracking", targets: ["Tracking"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
    ],
    targets: [
        // bytes -> typed records. No dependencies, no I/O.
        .target(
            name: "PostfixLog",
            swiftSettings: swiftSettings + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // records -> messages and deliveries: a queue-id state machine. Pure.
        .target(name: "Tracking", dependencies: ["PostfixLog"], swiftSettings: hotLoopSettings),
        // One SQLite setting Swift cannot reach (a variadic C function).
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        // GRDB: the workspace database, its migrations, the batched writes, the queries.
        .target(
            name: "Store",
            dependencies: [
                "Tracking",
                "CSQLiteConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CBzip2", path: "Sources/CBzip2"),
        // sources: files (plain, gzip, bzip2), streams, line splitting.
        .target(
            name: "Ingest",
            dependencies: [
                "PostfixLog",
                "Tracking",
                "Store",
                "CBzip2",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: hotLoopSettings
        ),
        // Translations: gettext catalogues, plural forms, locale formats. No dependencies.
        .target(name: "L10n", resources: [.copy("Catalogs")], swiftSettings: swiftSettings),
        // Accounts, passwords, sessions, tokens, rate limits, client addresses behind proxies.
        .target(
            name: "Auth",
            dependencies: [
                "Store",
                "L10n",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            resources: [.copy("Resources/wordlists.txt")],
            swiftSettings: swiftSettings
        ),
        // Detectors that turn the store into insights, on a schedule or over imported history.
        .target(
            name: "Insights",
            dependencies: [
                "Store",
                "L10n",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Brute-force protection: failed logins, the blocklist, the answers of Dovecot's auth policy.
        .target(
            name: "Guard",
            dependencies: [
                "Store",
                "Auth",
                "Tracking",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The outbox and its channels: Slack, e-mail (SMTP), webhooks. No UI.
        .target(
            name: "Notify",
            dependencies: [
                "Store",
                "Insights",
                "L10n",
                "Auth",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Hummingbird: the HTTP server, its middleware, controllers and templates.
        .target(
            name: "Web",
            dependencies: [
                "Ingest",
                "Store",
                "Auth",
                "L10n",
                "Insights",
                "Notify",
                "Guard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Templates"), .copy("Static")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lightmeter",
            dependencies: [
                "PostfixLog",
                "Tracking",
                "Store",
                "Ingest",
                "Web",
                "Auth",
                "L10n",
                "Insights",
                "Notify",
                "Guard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PostfixLogTests", dependencies: ["PostfixLog"], swiftSettings: swiftSettings),
        // The scenarios' expected outcomes are read from the source tree, not bundled.
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "PostfixLog"], exclude: ["Scenarios"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestTests",
            dependencies: ["Ingest", "PostfixLog", "Store", "Tracking", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebTests",
            dependencies: ["Web", "Ingest", "Store", "Auth", "L10n", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "Store"], swiftSettings: swiftSettings),
        .testTarget(name: "L10nTests", dependencies: ["L10n"], swiftSettings: swiftSettings),
        .testTarget(name: "InsightsTests", dependencies: ["Insights", "Store", "Ingest", "Tracking"], swiftSettings: swiftSettings),
        .testTarget(name: "GuardTests", dependencies: ["Guard", "Store", "Tracking", "Auth"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NotifyTests",
            dependencies: ["Notify", "Store", "Insights", "L10n", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "lightmeterTests", dependencies: ["lightmeter", "Auth", "Store"], swiftSettings: swiftSettings),
    ]
)
