// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "vigrelay",
    products: [
        .executable(name: "vigrelay", targets: ["vigrelay"]),
        .executable(name: "vigrelay-client", targets: ["vigrelay-client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, imported through module maps (see each folder's shim.h).
        .systemLibrary(name: "CLibWebSockets", pkgConfig: "libwebsockets",
                       providers: [.apt(["libwebsockets-dev", "libwebsockets-evlib-ev", "libev-dev", "libssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Linux calls and flags Swift's Glibc does not export (O_DIRECT, syncfs, ...).
        .target(name: "CLinuxIO"),
        // OpenSSL BIOs between TLS and the socket: one write for a WebSocket frame's TLS records, one
        // read for many records.
        .target(name: "CTLSBIO", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),

        // Pure relay logic: no sockets, no files, no lws.
        .target(name: "VigRelayCore", dependencies: ["CCrypto"]),
        // Disk: session records, the signing secret, the writer thread.
        .target(name: "VigRelayStorage", dependencies: [
            "VigRelayCore", "CLinuxIO",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // libwebsockets glue for the server: one service thread owns every connection.
        .target(name: "VigRelayServer", dependencies: [
            "VigRelayCore", "VigRelayStorage", "CLibWebSockets", "CLinuxIO", "CTLSBIO",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], linkerSettings: [.linkedLibrary("ssl")]),  // SSL_read: the relay reads its WebSockets itself
        // libwebsockets glue for the headless client.
        .target(name: "VigRelayClientKit", dependencies: [
            "VigRelayCore", "CLibWebSockets", "CLinuxIO", "CTLSBIO",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], linkerSettings: [.linkedLibrary("ssl")]),  // SSL_read: the client reads its WebSockets itself
        .executableTarget(name: "vigrelay", dependencies: [
            "VigRelayServer", "VigRelayStorage", "VigRelayCore", "CLinuxIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "vigrelay-client", dependencies: [
            "VigRelayClientKit", "VigRelayCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "VigRelayCoreTests", dependencies: ["VigRelayCore", "VigRelayStorage"], exclude: ["Fixtures"]),
        .testTarget(name: "TLSBIOTests", dependencies: ["CTLSBIO"]),
        .testTarget(name: "VigRelayStorageTests", dependencies: ["VigRelayStorage", "VigRelayCore", "CLinuxIO"]),
        .testTarget(name: "VigRelayClientKitTests", dependencies: [
            "VigRelayClientKit", "VigRelayCore",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
