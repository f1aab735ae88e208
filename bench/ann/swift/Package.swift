// swift-tools-version:6.0
// The Swift side of the ANN benchmark (bench/ann/run.py drives it). Its own package, depending
// on the root package by path, so the product's Package.swift carries no benchmark target.
import PackageDescription

let package = Package(
    name: "quiver-ann-bench",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Quiver", path: "../../..")],
    targets: [
        .executableTarget(name: "quiver-ann-bench", dependencies: [.product(name: "QuiverStore", package: "Quiver")]),
    ],
    swiftLanguageModes: [.v6]
)
