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
        .executable(name: "cairn-bench", targets: ["CairnBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
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
        // The raw limit the benchmarks compare against, written in plain C.
        .target(
            name: "CRawSHA",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .executableTarget(
            name: "CairnBench",
            dependencies: [
                "ChainCore", "Bus", "CRawSHA",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChainCoreTests",
            dependencies: ["ChainCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BusTests",
            dependencies: ["Bus"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ]
)
