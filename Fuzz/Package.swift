// swift-tools-version:6.0
// libFuzzer entry point for the parser, in its own package (see the README's "Fuzzing" section):
//   cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/release/PostfixLogFuzzer -max_total_time=60 corpus/
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between checkouts.
let productPackage = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "main")

let package = Package(
    name: "lightmeter-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "PostfixLogFuzzer",
            dependencies: [.product(name: "PostfixLog", package: productPackage)]
        ),
    ]
)
