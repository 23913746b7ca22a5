// swift-tools-version: 6.1
import PackageDescription

/// One set of compiler settings for every target: Swift 6 mode, explicit existentials, explicit imports.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The HTTP and WebSocket server with logging: what every target that serves routes needs.
let serverProducts: [Target.Dependency] = [
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
    .product(name: "Logging", package: "swift-log"),
]

/// What a program that runs `serve` on the embedded backend needs (benchmarks, the test support).
let liveServerDependencies: [Target.Dependency] = ["MatchmakerCore", "EmbeddedSupabase", "Shared"] + serverProducts

/// What every test target that runs the matchmaker needs: the shared test support, the library, the
/// embedded stand-in and the server pieces the harness exposes.
let liveTestDependencies: [Target.Dependency] =
    ["TestSupport"] + liveServerDependencies + [
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]

let package = Package(
    name: "matchmaker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "matchmaker", targets: ["Matchmaker"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
    ],
    targets: [
        .target(
            name: "Shared",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EmbeddedSupabase",
            dependencies: [
                "Shared", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ] + serverProducts,
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MatchmakerCore",
            dependencies: serverProducts + [
                "Shared",
                "EmbeddedSupabase",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Matchmaker",
            dependencies: [
                "MatchmakerCore",
                "Shared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PlannerBench",
            dependencies: ["MatchmakerCore", "EmbeddedSupabase", "Shared"],
            path: "bench/PlannerBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RealtimeBench",
            dependencies: liveServerDependencies,
            path: "bench/RealtimeBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "PassBench",
            dependencies: liveServerDependencies + [.product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "bench/PassBench",
            swiftSettings: swiftSettings
        ),
        // jansson, for the JSON parser benchmark only (Debian: libjansson-dev).
        .systemLibrary(name: "CJansson", path: "bench/CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .executableTarget(
            name: "JSONBench",
            dependencies: ["CJansson"],
            path: "bench/json",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoadSimulator",
            dependencies: [
                "MatchmakerCore", "Shared", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/LoadSimulator",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Simulate",
            dependencies: [
                "LoadSimulator", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/simulate",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HelloBench",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/endpoint",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: liveServerDependencies + [.product(name: "HummingbirdTesting", package: "hummingbird")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: ["Shared", .product(name: "JWTKit", package: "jwt-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MatchmakerTests",
            dependencies: liveTestDependencies + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: liveTestDependencies + [
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzTests",
            dependencies: ["Shared", "EmbeddedSupabase", "MatchmakerCore", .product(name: "HummingbirdCore", package: "hummingbird")]
                + serverProducts,
            exclude: ["Corpus", "Crashers"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: liveTestDependencies + ["LoadSimulator"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BotTests",
            dependencies: liveTestDependencies,
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealtimeTests",
            dependencies: liveTestDependencies + [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
