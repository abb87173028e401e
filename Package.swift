// swift-tools-version: 6.2
// fleet — a terminal dashboard for clan fleets. Layout: see docs/ARCHITECTURE.md.
import PackageDescription

// Every target: Swift 6 language mode (complete concurrency checking is part of it).
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

#if os(Linux)
// Debian's ncursesw.pc only adds -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=600, which SwiftPM drops with a
// "prohibited flag(s)" warning on every build; the module map links ncursesw (+tinfo via its .so script).
let ncursesPkgConfig: String? = nil
#else
let ncursesPkgConfig: String? = "ncursesw"   // Homebrew's keg-only ncurses needs its -I/-L paths
#endif

let package = Package(
    name: "fleet",
    platforms: [.macOS(.v15)],   // Synchronization.Mutex
    products: [
        .executable(name: "fleet", targets: ["FleetTUI"]),
        .library(name: "FleetModel", targets: ["FleetModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/pointfreeco/swift-snapshot-testing", from: "1.19.7"),
    ],
    targets: [
        // ncursesw (see ncursesPkgConfig) plus a shim exposing curses macros as inline functions.
        .systemLibrary(
            name: "CNcurses",
            pkgConfig: ncursesPkgConfig,
            providers: [.apt(["libncurses-dev"]), .brew(["ncurses"])]
        ),
        // Process-wide C state: signals and tty for the dashboard (a real C file, so it exists once
        // per process) and the allocator policy (mallopt, which Swift's Glibc module does not import).
        .target(name: "CNcursesShim"),
        // The model: inventory, secrets (age/sops), vars, deploy, effects. No curses here.
        .target(
            name: "FleetModel",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swift6,
            plugins: ["EmbedFiles"]
        ),
        // inventory/ (the demo fleet) and themes/ compiled into FleetModel (`EmbeddedFiles`), so the
        // binary alone carries them: an installed `fleet` has no source tree to read them from.
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["EmbedFilesTool"]),
        .executableTarget(name: "EmbedFilesTool", path: "Plugins/EmbedFilesTool", swiftSettings: swift6),
        // The `fleet` executable: app state, reducer, views, ncurses backend, headless CLI.
        .executableTarget(
            name: "FleetTUI",
            dependencies: [
                "FleetModel",
                "CNcurses",
                "CNcursesShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6
        ),
        .testTarget(
            name: "FleetModelTests",
            dependencies: ["FleetModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: swift6
        ),
        .testTarget(
            name: "FleetTUITests",
            dependencies: [
                "FleetTUI", "FleetModel",
                .product(name: "SnapshotTesting", package: "swift-snapshot-testing"),
            ],
            exclude: ["__Snapshots__"],
            swiftSettings: swift6
        ),
    ]
)
