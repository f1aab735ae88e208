// swift-tools-version:6.0
import PackageDescription

// Quiver: local embeddings for text, images, audio and video, and an embedded vector database.
// Dependencies point down only: kernels → tensor → weights/tokenizers → models → Quiver facade → CLI/server.
// No unsafe flags: SIMD is chosen at run time inside CQuiverKernels.

#if os(macOS)
let blasTarget: Target = .systemLibrary(name: "CBLAS", path: "Sources/CBLAS-macOS")
#else
let blasTarget: Target = .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                                        providers: [.apt(["libopenblas-dev"])])
#endif

let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v15)],  // grpc-swift-2 (the Milvus backend and endpoint) needs macOS 15
    products: [
        .library(name: "Quiver", targets: ["Quiver"]),
        .library(name: "QuiverStore", targets: ["QuiverStore"]),
        .library(name: "QuiverMedia", targets: ["QuiverMedia"]),
        .library(name: "QuiverMilvus", targets: ["QuiverMilvus"]),
        .executable(name: "quiver", targets: ["quiver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.27.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        // Milvus' gRPC protocol (QuiverMilvus client, `quiver serve --milvus-port`).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(name: "CQuiverKernels"),
        blasTarget,
        .target(name: "QuiverTensor", dependencies: ["CQuiverKernels", "CBLAS"]),
        .target(name: "QuiverWeights", dependencies: ["CZlib"]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "QuiverTokenizers", dependencies: ["CZlib"]),
        .target(name: "QuiverModels", dependencies: ["QuiverTensor", "QuiverWeights", "QuiverTokenizers", "QuiverMedia"]),
        .target(name: "QuiverHub"),
        .target(name: "QuiverStore", dependencies: ["CQuiverKernels", "CStemmer"]),
        // Snowball stemming for the BM25 full-text index (Debian's libstemmer).
        .systemLibrary(name: "CStemmer", path: "Sources/CStemmer", providers: [.apt(["libstemmer-dev"])]),
        // Media decoding (images through the system codecs; no dependency on the tensor engine).
        .systemLibrary(name: "CImageCodecs", path: "Sources/CImageCodecs",
                       providers: [.apt(["libjpeg62-turbo-dev", "libpng-dev", "libwebp-dev", "libgif-dev"])]),
        .target(name: "CQuiverImage", dependencies: ["CImageCodecs"],
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"), .linkedLibrary("gif")]),
        // Audio and video through FFmpeg's libraries (Debian's -dev packages), wrapped in C by CQuiverAV.
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswresample-dev", "libswscale-dev"])]),
        .target(name: "CQuiverAV", dependencies: ["CFFmpeg"],
                linkerSettings: [.linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("avutil"),
                                 .linkedLibrary("swresample"), .linkedLibrary("swscale")]),
        .target(name: "QuiverMedia", dependencies: ["CQuiverImage", "CQuiverAV"]),
        // Milvus' wire protocol: Swift generated once from proto/milvus_wire.proto by
        // scripts/generate-milvus-wire.sh and committed (the build never runs protoc).
        .target(name: "QuiverMilvusWire", dependencies: [
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // Milvus / Zilliz Cloud as a VectorDatabase backend, over Milvus' gRPC API.
        .target(name: "QuiverMilvus", dependencies: [
            "QuiverStore", "QuiverMilvusWire",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        // Documents (PDF through poppler-glib, wrapped in C by CQuiverPDF; DOCX/ODT/EPUB/HTML through libxml2).
        .systemLibrary(name: "CPoppler", path: "Sources/CPoppler", pkgConfig: "poppler-glib", providers: [.apt(["libpoppler-glib-dev"])]),
        .systemLibrary(name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "CQuiverPDF", dependencies: ["CPoppler"]),
        .target(name: "QuiverDocuments", dependencies: ["CQuiverPDF", "CLibXML2", "CZlib"]),
        // Cairo (Debian's libcairo2-dev) draws the bar charts of `quiver eval` as PNG or SVG.
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .target(name: "Quiver", dependencies: ["QuiverModels", "QuiverHub", "QuiverStore", "QuiverTokenizers", "QuiverWeights", "QuiverTensor",
                                              "QuiverDocuments", "QuiverMilvus", "CCairo"]),
        // Benchmark driver for bench/ (not a product).
        .executableTarget(name: "quiver-bench", dependencies: ["Quiver", "QuiverModels", "QuiverTensor", "QuiverStore", "QuiverMilvus"]),
        .executableTarget(name: "quiver-image-bench", dependencies: ["QuiverModels", "QuiverTensor", "QuiverMedia"]),
        // HTTP server (`quiver serve`): OpenAI-compatible embeddings, Milvus REST v2, health, metrics.
        .target(name: "QuiverServer", dependencies: [
            "Quiver",
            "QuiverHub",
            "QuiverStore",
            "QuiverMilvusWire",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        .executableTarget(name: "quiver", dependencies: [
            "Quiver",
            "QuiverHub",
            "QuiverServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "QuiverTestSupport", path: "Sources/QuiverTestSupport"),

        .testTarget(name: "QuiverTensorTests", dependencies: ["QuiverTestSupport", "QuiverTensor", "CQuiverKernels"]),
        .testTarget(name: "QuiverWeightsTests", dependencies: ["QuiverTestSupport", "QuiverWeights"]),
        .testTarget(name: "QuiverTokenizersTests", dependencies: ["QuiverTestSupport", "QuiverTokenizers"]),
        .testTarget(name: "QuiverModelsTests", dependencies: ["QuiverTestSupport", "QuiverModels", "QuiverMedia", "QuiverTokenizers", "QuiverWeights"]),
        .testTarget(name: "QuiverHubTests", dependencies: ["QuiverTestSupport", "QuiverHub"]),
        .testTarget(name: "QuiverStoreTests", dependencies: ["QuiverTestSupport", "QuiverStore"]),
        .testTarget(name: "QuiverMilvusTests", dependencies: ["QuiverTestSupport", "QuiverMilvus", "QuiverMilvusWire", "QuiverStore",
                                                            .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")]),
        .testTarget(name: "QuiverTests", dependencies: ["QuiverTestSupport", "Quiver"]),
        .testTarget(name: "QuiverServerTests", dependencies: [
            "QuiverTestSupport", "QuiverServer", "Quiver", "QuiverStore",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            "QuiverMilvusWire",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        ]),
        .testTarget(name: "QuiverDocumentsTests", dependencies: ["QuiverTestSupport", "QuiverDocuments", "Quiver", "QuiverTokenizers"]),
        .testTarget(name: "QuiverMediaTests", dependencies: ["QuiverTestSupport", "QuiverMedia", "QuiverHub", "CQuiverImage"]),
    ],
    swiftLanguageModes: [.v6]
)
