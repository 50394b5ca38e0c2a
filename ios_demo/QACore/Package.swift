// swift-tools-version:5.9
// QACore: the platform-free half of the iOS demo (tokenizer, QA windows, span decoding, manifest and
// benchmark-results types). Foundation only, so `swift test` runs on Linux against tests/golden.
import PackageDescription

let package = Package(
    name: "QACore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "QACore", targets: ["QACore"]),
    ],
    targets: [
        .target(name: "QACore"),
        // Fixtures are read through #filePath (no Bundle.module on every platform), so they are not resources.
        .testTarget(name: "QACoreTests", dependencies: ["QACore"], exclude: ["Fixtures"]),
    ]
)
