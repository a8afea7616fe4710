// swift-tools-version:6.1
import PackageDescription

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// This manifest's directory: the linker needs the order file's absolute path.
let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

/// Modules per docs/architecture.md: `polaris-warden` → `Warden` → (`PolarisAPI`, `Systemd`);
/// `PolarisEmulator` → `PolarisAPI`; `polaris-warden-demo` → `WardenDemo` → (`Warden`,
/// `PolarisEmulator`). Executables hold wiring only. Every module a target imports is one of its
/// dependencies here, never reached through another target's (`make lint` checks it).
let package = Package(
    name: "polaris-warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "polaris-warden", targets: ["polaris-warden"]),
        .executable(name: "polaris-emulator", targets: ["polaris-emulator"]),
        // `make demo`; a development tool, not in the .deb.
        .executable(name: "polaris-warden-demo", targets: ["polaris-warden-demo"]),
        .library(name: "PolarisAPI", targets: ["PolarisAPI"]),
        .library(name: "PolarisEmulator", targets: ["PolarisEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // FileDescriptor for WardenPlatform's file helper (already in the graph through swift-nio).
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        // The emulator's HTTP server. No default traits: keeps Foundation/ICU and unused features out.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // The optional Prometheus endpoint (`run --metrics-address`): metric types and the text exposition.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // libpq, PostgreSQL's C client, for `highAvailability` (WardenPostgres): its declarations
        // (libpq-dev) here, and CLibPQLoader, which loads Debian's libpq5 with dlopen when a warden
        // with highAvailability first connects, so a single-host warden never maps it and the ~25
        // libraries it needs (3.9 MB of idle RSS). Not a Swift driver: postgres-nio and its
        // NIOFoundationCompat pull the whole of Foundation and ICU (+47 MiB) into the daemon.
        // No pkgConfig: pkg-config's `-lpq` would link it after all (the header is found as
        // <postgresql/libpq-fe.h>).
        .systemLibrary(
            name: "CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "CLibPQLoader",
            dependencies: ["CLibPQ"],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // One glibc malloc arena for the daemon, set by a constructor before `main` starts any
        // thread (the operator's MALLOC_ARENA_MAX wins). Linked into `polaris-warden` only.
        .target(name: "CMemoryTuning"),
        // The two platform edges every module touches: the one injected clock and the one way to
        // read and atomically write files.
        .target(
            name: "WardenPlatform",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Systemd",
            dependencies: [
                "CSystemd",
                "WardenPlatform",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PolarisAPI",
            dependencies: [
                "WardenPlatform",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PolarisEmulator",
            dependencies: [
                "PolarisAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Warden",
            dependencies: [
                "PolarisAPI",
                "WardenPlatform",
                "Systemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // MetricsServer: GET /metrics on NIOHTTP1, which the Polaris client links anyway.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `LeaderLease` on PostgreSQL (`highAvailability`): a module of its own so `Warden` stays
        // free of the database client and another engine can sit beside it.
        .target(
            name: "WardenPostgres",
            dependencies: [
                "CLibPQ",
                "CLibPQLoader",
                "Warden",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The scripted demo: the real warden against an in-process emulator. A library of its
        // own so `Warden` never depends on the emulator and tests can run the demo's script.
        .target(
            name: "WardenDemo",
            dependencies: [
                "Warden",
                "PolarisEmulator",
                "PolarisAPI",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The daemon and its CLI: what the .deb ships. Neither the emulator nor the demo.
        .executableTarget(
            name: "polaris-warden",
            dependencies: [
                "CMemoryTuning",
                "Warden",
                "WardenPostgres",
                "WardenPlatform",
                "PolarisAPI",
                "Systemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: [
                // The stripped release binary (BENCHMARKS.md, 2026-12-01: 32.3 -> 27.4 MiB). The
                // static stdlib's link arguments export every symbol (-export-dynamic), which
                // makes every public function of every dependency a root --gc-sections keeps;
                // the daemon loads no plugin, so it exports nothing (-3.0 MiB; a crash backtrace
                // of the stripped binary loses function names: the -dbgsym package has them).
                // lld packs the PIE's relative relocations (DT_RELR, glibc >= 2.36 as in
                // Debian 12; -1.8 MiB). The functions a warden runs go side by side at the start
                // of the code (packaging/polaris-warden.order, `make link-order`): the kernel maps
                // code 64 kB around each page touched, so spread out they kept 12.8 MB of it
                // resident at 10 jobs, together 8.5 MB.
                .unsafeFlags(
                    [
                        "-use-ld=lld", "-Xlinker", "--no-export-dynamic",
                        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                        "-Xlinker", "--symbol-ordering-file=\(packageDirectory)/packaging/polaris-warden.order",
                        "-Xlinker", "--no-warn-symbol-ordering",
                    ], .when(platforms: [.linux], configuration: .release))
            ]
        ),
        // `make demo`: the scripted demo (WardenDemo) in a development executable of its own.
        .executableTarget(
            name: "polaris-warden-demo",
            dependencies: [
                "WardenDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "polaris-emulator",
            dependencies: [
                "PolarisEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test helpers shared by test targets (a fake NOTIFY_SOCKET, process runners).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "PolarisAPITests",
            dependencies: [
                "PolarisAPI", "PolarisEmulator", "TestSupport", "WardenPlatform",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Conformance"]),
        .testTarget(
            name: "PolarisEmulatorTests",
            dependencies: [
                "PolarisEmulator", "PolarisAPI", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SystemdTests",
            dependencies: [
                "Systemd", "TestSupport", "WardenPlatform", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "WardenPlatformTests",
            dependencies: [
                "WardenPlatform", "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // Against a real PostgreSQL (scripts/with-postgres.sh); skipped without one, failed under CI=true.
        .testTarget(
            name: "WardenPostgresTests",
            dependencies: [
                "WardenPostgres", "Warden", "WardenPlatform", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]),
        .testTarget(
            name: "WardenTests",
            dependencies: [
                "Warden", "WardenDemo", "WardenPlatform", "PolarisEmulator", "PolarisAPI", "Systemd", "TestSupport",
                // MetricsTests scrapes /metrics over HTTP.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                // LogRecorder keeps what the warden logs in swift-log's InMemoryLogHandler.
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]),
    ]
)
