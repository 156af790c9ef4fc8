// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ChainCore", targets: ["ChainCore"]),
        .library(name: "Bus", targets: ["Bus"]),
        .library(name: "Wallet", targets: ["Wallet"]),
        .executable(name: "cairn-bench", targets: ["CairnBench"]),
        .executable(name: "cairn", targets: ["CairnCLI"]),
        .executable(name: "cairn-chainstore", targets: ["ChainStore"]),
        .executable(name: "cairn-mempool", targets: ["Mempool"]),
        .executable(name: "cairn-miner", targets: ["Miner"]),
        .executable(name: "cairn-edge", targets: ["APIEdge"]),
        .executable(name: "cairn-peerbridge", targets: ["PeerBridge"]),
        .executable(name: "cairn-walletfront", targets: ["WalletFront"]),
        .executable(name: "cairn-accounts", targets: ["Accounts"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // libzmq from Debian's libzmq3-dev.
        .systemLibrary(
            name: "CZMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // OpenSSL's libcrypto (libssl-dev): SHA256_Transform for the midstate header hasher.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Consensus rules: encodings, hashes, addresses, difficulty, validation.
        .target(
            name: "ChainCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "BigInt", package: "BigInt"),
                "COpenSSL",
            ],
            swiftSettings: strict
        ),
        // The message bus the services talk over (ZeroMQ).
        .target(
            name: "Bus",
            dependencies: [
                "CZMQ",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The contract between the processes: bus messages per service, topics, endpoints, the typed
        // vocabularies (block states, trace kinds and stages, service names). Depends only on ChainCore,
        // so a program that only speaks HTTP (the wallet front) links no libzmq.
        .target(
            name: "CairnContract",
            dependencies: ["ChainCore"],
            swiftSettings: strict
        ),
        // The service runtime on top of the bus: the JSON request envelope (RPC client and router),
        // trace recording, bus security, node identity, data lock, service startup and shutdown.
        // Re-exports CairnContract.
        .target(
            name: "NodeKit",
            dependencies: [
                "CairnContract", "ChainCore", "Bus",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The wallet: keystore file, recovery phrase (BIP-39, SLIP-0010), coin selection and signing.
        // Used by the CLI (`cairn wallet`) and the edge's regtest faucet; no bus, no HTTP.
        .target(
            name: "Wallet",
            dependencies: [
                "ChainCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // What the two services with an SQLite file of their own share (GRDB): the write-ahead log
        // checkpointed off the commit path, rows bound straight to SQLite on a bulk insert.
        .target(
            name: "SQLiteSupport",
            dependencies: ["ChainCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The node's seven services, one executable each: these four, then the accounts service, the
        // wallet front and the peer bridge below.
        .executableTarget(
            name: "ChainStore",
            dependencies: ["NodeKit", "ChainCore", "Bus", "SQLiteSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Mempool",
            dependencies: ["NodeKit", "ChainCore", "Bus", "SQLiteSupport", .product(name: "GRDB", package: "GRDB.swift"),
                           // The pool's fee-rate index (a min-max heap).
                           .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Miner",
            dependencies: ["NodeKit", "ChainCore", "Bus"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "APIEdge",
            dependencies: [
                "NodeKit", "ChainCore", "Bus", "Wallet",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),  // the answer to a refused upgrade
            ],
            swiftSettings: strict
        ),
        // `cairn-accounts`: accounts, API keys (hashed), per-key limits shared by the edges, usage.
        .executableTarget(
            name: "Accounts",
            dependencies: [
                "NodeKit", "Bus",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),  // PBKDF2 of the portal's passwords
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // `cairn-walletfront`: serves the browser wallet and block explorer (static files, CSP, optional TLS).
        .executableTarget(
            name: "WalletFront",
            dependencies: [
                "CairnContract",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Public")],
            swiftSettings: strict
        ),
        // `cairn-peerbridge`: links this node to other nodes over WebSocket (relay, headers-first sync).
        .executableTarget(
            name: "PeerBridge",
            dependencies: [
                "NodeKit", "ChainCore", "Bus",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: strict
        ),
        // `cairn`: up (supervisor), miner, status, wallet.
        .executableTarget(
            name: "CairnCLI",
            dependencies: [
                "NodeKit", "ChainCore", "Wallet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The raw limit the benchmarks compare against, written in plain C.
        .target(
            name: "CRawSHA",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .executableTarget(
            name: "CairnBench",
            dependencies: [
                "ChainCore", "Bus", "CRawSHA", "NodeKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The bench's load generators and CPU readings (not its figures): a local HTTP server, no node.
        .testTarget(
            name: "CairnBenchTests",
            dependencies: ["CairnBench", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strict
        ),
        // What every test target shares: wallets, signed transactions and mined regtest blocks; the
        // one polling helper and hang guard, the process runner, the `cairn up` harness, the port table.
        .target(
            name: "TestSupport",
            dependencies: [
                "ChainCore", "NodeKit", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CairnContractTests",
            dependencies: ["CairnContract", "ChainCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChainCoreTests",
            dependencies: ["ChainCore", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChainStoreTests",
            dependencies: ["ChainStore", "ChainCore", "NodeKit", "Bus", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // End to end: real processes started with `cairn up`, over real sockets.
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "NodeKit", "ChainCore", "Bus", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The miner's own logic (no processes).
        .testTarget(
            name: "MinerTests",
            dependencies: ["Miner", "ChainCore", "NodeKit"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SQLiteSupportTests",
            dependencies: ["SQLiteSupport", "ChainCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MempoolTests",
            dependencies: ["Mempool", "ChainCore", "NodeKit", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The Wallet library: keystore, recovery phrase (published BIP-39 and SLIP-0010 vectors), coin selection, signing.
        .testTarget(
            name: "WalletTests",
            dependencies: ["Wallet", "ChainCore", .product(name: "Crypto", package: "swift-crypto")],
            // The published vectors; the browser wallet's tests (Tests/WalletFrontTests/js) read them too.
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // The CLI's commands and supervisor; the compose file check.
        .testTarget(
            name: "CairnCLITests",
            dependencies: [
                "CairnCLI", "NodeKit", "ChainCore", "Wallet", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BusTests",
            dependencies: ["Bus", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // The API edge against in-process fake services, over real sockets.
        .testTarget(
            name: "APIEdgeTests",
            dependencies: [
                "APIEdge", "NodeKit", "ChainCore", "Bus", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The wallet front server (in process and as a process, with TLS), and the browser
        // wallet's JavaScript checked against the Swift implementation (run with node).
        .testTarget(
            name: "WalletFrontTests",
            dependencies: [
                "WalletFront", "ChainCore", "NodeKit", "TestSupport",
                // The Wallet library: the JS wallet's keystore files, coin choices and phrases are checked against it.
                "Wallet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["js"],
            swiftSettings: strict
        ),
        // The accounts service's store, limiter and usage reports, in process.
        .testTarget(
            name: "AccountsTests",
            dependencies: ["Accounts", "NodeKit", "Bus", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The peer protocol's codec, handshake checks, locators and scoring.
        .testTarget(
            name: "PeerBridgeTests",
            dependencies: ["PeerBridge", "ChainCore", "NodeKit", "TestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: strict
        ),
        // TestSupport itself: the port table (Tests/ports.json), the process runner, polling and the hang guard.
        .testTarget(
            name: "TestSupportTests",
            dependencies: ["TestSupport", "NodeKit"],
            swiftSettings: strict
        ),
        // Several nodes (`cairn up` each, or `cairn net up`) over real sockets: relay, sync, partitions, hostile peers.
        .testTarget(
            name: "NetworkTests",
            dependencies: [
                "NodeKit", "ChainCore", "Bus", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: strict
        ),
    ]
)
