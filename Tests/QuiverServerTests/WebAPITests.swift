import Foundation
import Hummingbird
import HummingbirdTesting
import Quiver
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// The JSON API of the web page over a store ingested from fixtures (see `WebFixture`).
final class WebAPITests: XCTestCase {
    func testPageAndCollections() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                let page = try await client.get("/")
                XCTAssertEqual(page.status, .ok)
                XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
                let html = String(buffer: page.body)
                XCTAssertTrue(html.contains("<form id=\"search-form\""))
                XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page must not load external resources")

                let response = try await client.get("/api/collections")
                XCTAssertEqual(response.status, .ok)
                let body = try response.json()
                XCTAssertEqual(body["store"] as? String, fixture.store)
                XCTAssertEqual(body["bases"] as? [String], ["quiver"])
                let collections = try XCTUnwrap(body["collections"] as? [[String: Any]])
                var summary: [String: String] = [:]
                for c in collections {
                    summary[c["name"] as? String ?? "?"] = "\(c["count"] as? Int ?? -1) \(c["model"] as? String ?? "?") \(c["modality"] as? String ?? "?")"
                }
                // quiver_image: 3 images, and bikes.mp4's 10 one-second frames plus its whole-video row.
                XCTAssertEqual(summary, ["quiver_text": "4 all-MiniLM-L6-v2 text", "quiver_image": "14 efficientnet-lite0 image",
                                         "quiver_audio": "1 faster-whisper-base audio"])
            }
        }
    }

    func testTextSearchFindsTheRightFileFirst() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                for (query, expected) in [("how long should the espresso extract?", "coffee.txt"),
                                          ("astronauts flying a spacecraft to orbit", "rockets.txt"),
                                          ("my kitten naps on the couch all day", "cats.txt")] {
                    // Dense: the scores are cosines (hybrid, the default with the BM25 index ingest makes, gives RRF scores).
                    let response = try await client.post("/api/search", json: ["text": query, "limit": 4, "modality": ["text"], "mode": "dense"])
                    XCTAssertEqual(response.status, .ok, String(buffer: response.body))
                    let results = try response.results()
                    XCTAssertEqual(results.count, 4, query)
                    let top = try XCTUnwrap(results.first)
                    XCTAssertEqual(top["name"] as? String, expected, query)
                    XCTAssertEqual(top["path"] as? String, fixture.files[expected]?.path)
                    XCTAssertEqual(top["modality"] as? String, "text")
                    XCTAssertEqual(top["text"] as? String, WebFixture.texts[expected])
                    XCTAssertEqual(top["start"] as? Int, 0)
                    XCTAssertEqual(top["end"] as? Int, WebFixture.texts[expected]!.unicodeScalars.count)
                    let scores = results.compactMap { ($0["score"] as? NSNumber)?.floatValue }
                    XCTAssertEqual(scores, scores.sorted(by: >), "results are best first")
                    XCTAssertGreaterThan(scores[0], scores[1] + 0.05, "\(expected) should lead clearly for \(query)")
                }
                // All modalities: images were embedded by a model without a text encoder, which the notes say.
                let all = try await client.post("/api/search", json: ["text": "a cat"])
                XCTAssertEqual(all.status, .ok)
                let body = try all.json()
                XCTAssertEqual(body["searched"] as? [String], ["quiver_text"])
                let notes = try XCTUnwrap(body["notes"] as? [String])
                XCTAssertTrue(notes.contains { $0.contains("no CLIP model installed") && $0.contains("efficientnet-lite0") }, "\(notes)")
                // A filter narrows the rows.
                let filtered = try await client.post("/api/search", json: ["text": "espresso", "filter": "path like \"%/cats.txt\""])
                XCTAssertEqual(try filtered.results().compactMap { $0["name"] as? String }, ["cats.txt"])
            }
        }
    }

    func testUploadSearch() async throws {
        let fixture = try await WebFixture.prepared()
        let before = Self.uploads()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                let png = try Data(contentsOf: fixture.files["chelsea.png"]!)
                let image = try await client.post("/api/search/file?limit=3&name=chelsea.png", bytes: png, headers: [.contentType: "image/png"])
                XCTAssertEqual(image.status, .ok, String(buffer: image.body))
                let hits = try image.results()
                XCTAssertEqual(hits.map { $0["name"] as? String ?? "?" }.first, "chelsea.png")
                XCTAssertEqual(hits.count, 3)
                XCTAssertEqual(hits.first?["modality"] as? String, "image")
                XCTAssertEqual((hits.first?["score"] as? NSNumber)?.floatValue ?? 0, 1, accuracy: 1e-3, "the same image")
                // Video frames are image-space rows with their time range; modality=video keeps only them.
                let frames = try await client.post("/api/search/file?limit=20&modality=video&name=chelsea.png", bytes: png)
                let videoHits = try frames.results()
                XCTAssertEqual(videoHits.count, 11, "10 one-second frames and the whole-video row")
                XCTAssertEqual(Set(videoHits.compactMap { $0["name"] as? String }), ["bikes.mp4"])
                XCTAssertEqual(Set(videoHits.compactMap { $0["modality"] as? String }), ["video"])
                let frame = try XCTUnwrap(videoHits.first { $0["frame_index"] != nil })
                let startS = try XCTUnwrap(frame["start_s"] as? Double), endS = try XCTUnwrap(frame["end_s"] as? Double)
                XCTAssertEqual(endS - startS, 1, accuracy: 0.05)
                XCTAssertEqual(hits.first?["media"] as? String,
                               "/api/media?collection=quiver_image&id=" + WebJSON.percentEncoded(fixture.files["chelsea.png"]!.path + "#0"))

                // No name: the Content-Type gives the kind.
                let wav = try Data(contentsOf: fixture.files["speech_0.wav"]!)
                let audio = try await client.post("/api/search/file?limit=2", bytes: wav, headers: [.contentType: "audio/wav"])
                XCTAssertEqual(audio.status, .ok, String(buffer: audio.body))
                let top = try XCTUnwrap(try audio.results().first)
                XCTAssertEqual(top["name"] as? String, "speech_0.wav")
                XCTAssertEqual(top["collection"] as? String, "quiver_audio")
                XCTAssertEqual((top["score"] as? NSNumber)?.floatValue ?? 0, 1, accuracy: 1e-3)
                XCTAssertEqual(top["start_s"] as? Double, 0)
                XCTAssertGreaterThan(top["end_s"] as? Double ?? 0, 1)

                // A text file is a text query.
                let text = try await client.post("/api/search/file?name=q.txt&modality=text", bytes: Data("tomato plants in the sun".utf8))
                XCTAssertEqual(try text.results().first?["name"] as? String, "gardening.txt")

                // Image queries search image rows only; the message says so.
                let wrong = try await client.post("/api/search/file?name=chelsea.png&modality=text", bytes: png)
                XCTAssertEqual(wrong.status, .badRequest)
                XCTAssertTrue(try wrong.errorMessage().contains("image or video query searches image and video rows only"))
            }
        }
        XCTAssertEqual(Self.uploads().subtracting(before), [], "temporary upload files are deleted")
    }

    func testMediaRouteServesRowsWithRanges() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                let file = fixture.files["chelsea.png"]!
                let bytes = try Data(contentsOf: file)
                let uri = "/api/media?collection=quiver_image&id=" + WebJSON.percentEncoded(file.path + "#0")

                let whole = try await client.get(uri)
                XCTAssertEqual(whole.status, .ok)
                XCTAssertEqual(whole.headers[.contentType], "image/png")
                XCTAssertEqual(whole.headers[.acceptRanges], "bytes")
                XCTAssertEqual(whole.headers[.contentLength], String(bytes.count))
                XCTAssertEqual(Data(whole.body.readableBytesView), bytes)

                let part = try await client.get(uri, headers: [.range: "bytes=100-1123"])
                XCTAssertEqual(part.status, .partialContent)
                XCTAssertEqual(part.headers[.contentRange], "bytes 100-1123/\(bytes.count)")
                XCTAssertEqual(Data(part.body.readableBytesView), bytes[100...1123])

                let tail = try await client.get(uri, headers: [.range: "bytes=-10"])
                XCTAssertEqual(tail.status, .partialContent)
                XCTAssertEqual(Data(tail.body.readableBytesView), bytes.suffix(10))

                let open = try await client.get(uri, headers: [.range: "bytes=\(bytes.count - 5)-"])
                XCTAssertEqual(Data(open.body.readableBytesView), bytes.suffix(5))

                let outside = try await client.get(uri, headers: [.range: "bytes=\(bytes.count)-"])
                XCTAssertEqual(outside.status, .rangeNotSatisfiable)
                XCTAssertEqual(outside.headers[.contentRange], "bytes */\(bytes.count)")

                let head = try await client.execute(uri: uri, method: .head) { $0 }
                XCTAssertEqual(head.status, .ok)
                XCTAssertEqual(head.headers[.contentLength], String(bytes.count))
                XCTAssertEqual(head.body.readableBytes, 0)

                let etag = try XCTUnwrap(whole.headers[.eTag])
                let cached = try await client.get(uri, headers: [.ifNoneMatch: etag])
                XCTAssertEqual(cached.status, .notModified)

                // Without a collection the row is looked up in all of them; audio and text have their types.
                let wav = try await client.get("/api/media?id=" + WebJSON.percentEncoded(fixture.files["speech_0.wav"]!.path + "#0"))
                XCTAssertEqual(wav.status, .ok)
                XCTAssertEqual(wav.headers[.contentType], "audio/wav")
                let mp4 = try await client.get("/api/media?collection=quiver_image&id=" + WebJSON.percentEncoded(fixture.files["bikes.mp4"]!.path + "#3"),
                                               headers: [.range: "bytes=0-"])
                XCTAssertEqual(mp4.status, .partialContent)
                XCTAssertEqual(mp4.headers[.contentType], "video/mp4")
                XCTAssertEqual(Data(mp4.body.readableBytesView), try Data(contentsOf: fixture.files["bikes.mp4"]!))
                let txt = try await client.get("/api/media?id=" + WebJSON.percentEncoded(fixture.files["cats.txt"]!.path + "#0"))
                XCTAssertEqual(txt.headers[.contentType], "text/plain; charset=utf-8")
                XCTAssertEqual(String(buffer: txt.body), WebFixture.texts["cats.txt"])

                // Only files of rows in the store: never an arbitrary path.
                for id in ["/etc/passwd", "/etc/passwd#0", file.path, "../../../../etc/passwd#0"] {
                    let refused = try await client.get("/api/media?id=" + WebJSON.percentEncoded(id))
                    XCTAssertEqual(refused.status, .notFound, id)
                    XCTAssertTrue(try refused.errorMessage().contains("no row with id"), id)
                }
                // A name holding NUL (which would cut a file path short) names no collection: 404, not 500.
                let nul = try await client.get("/api/media?collection=%00%3E%5D&id=x")
                XCTAssertEqual(nul.status, .notFound)
                let noCollection = try await client.get("/api/media?collection=nope&id=x")
                XCTAssertEqual(noCollection.status, .notFound)
                XCTAssertTrue(try noCollection.errorMessage().contains("no collection 'nope'"))
                let missing = try await client.get("/api/media")
                XCTAssertEqual(missing.status, .badRequest)
                XCTAssertTrue(try missing.errorMessage().contains("'id'"))
            }
        }
    }

    func testBadRequestsGetMessages() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                let cases: [(String, String, HTTPResponse.Status, String)] = [
                    ("/api/search", "{\"text\": \"a\",", .badRequest, "not valid JSON"),
                    ("/api/search", "[1]", .badRequest, "must be a JSON object"),
                    ("/api/search", "{}", .badRequest, "missing required field 'text'"),
                    ("/api/search", "{\"text\": \"  \"}", .badRequest, "'text' is empty"),
                    ("/api/search", "{\"text\": \"a\", \"limt\": 3}", .badRequest, "unknown field 'limt'"),
                    ("/api/search", "{\"text\": \"a\", \"limit\": 0}", .badRequest, "'limit' must be between 1 and 1000"),
                    ("/api/search", "{\"text\": \"a\", \"modality\": [\"smell\"]}", .badRequest, "'modality' has 'smell'"),
                    ("/api/search", "{\"text\": \"a\", \"modality\": []}", .badRequest, "choose at least one"),
                    ("/api/search", "{\"text\": \"a\", \"filter\": \"path like\"}", .badRequest, "path like"),
                    ("/api/search", "{\"text\": \"a\", \"collection\": \"other\"}", .badRequest, "no collection named other_text"),
                    ("/api/search/file?limit=x", "", .badRequest, "'limit' must be an integer"),
                    ("/api/search/file", "", .badRequest, "the upload is empty"),
                ]
                for (uri, body, status, message) in cases {
                    let response = try await client.post(uri, raw: body, headers: [.contentType: "application/json"])
                    XCTAssertEqual(response.status, status, "\(uri) \(body): \(String(buffer: response.body))")
                    let text = try response.errorMessage()
                    XCTAssertTrue(text.contains(message), "\(body): \(text)")
                }
            }
        }
    }

    func testAPIKey() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture, { $0.apiKey = "s3cret" }) { server in
            try await ServerTest.application(server).test(.router) { client in
                // The page loads without the key (it holds no data) so the key can be typed into it.
                let page = try await client.get("/")
                XCTAssertEqual(page.status, .ok)
                let denied = try await client.get("/api/collections")
                XCTAssertEqual(denied.status, .unauthorized)
                XCTAssertTrue(try denied.errorMessage().contains("API key field"))
                let wrong = try await client.get("/api/collections", headers: [.authorization: "Bearer nope"])
                XCTAssertEqual(wrong.status, .unauthorized)
                XCTAssertEqual(try wrong.json()["error"].flatMap { ($0 as? [String: Any])?["code"] as? String }, "invalid_api_key")
                let allowed = try await client.get("/api/collections", headers: [.authorization: "Bearer s3cret"])
                XCTAssertEqual(allowed.status, .ok)
                let search = try await client.post("/api/search", json: ["text": "coffee"])
                XCTAssertEqual(search.status, .unauthorized)

                // Media: the Bearer header, or the cookie the page sets (elements cannot send headers).
                let uri = "/api/media?id=" + WebJSON.percentEncoded(fixture.files["camera.png"]!.path + "#0")
                let bare = try await client.get(uri)
                XCTAssertEqual(bare.status, .unauthorized)
                let cookie = try await client.get(uri, headers: [.cookie: "quiver_key=s3cret"])
                XCTAssertEqual(cookie.status, .ok)
                let badCookie = try await client.get(uri, headers: [.cookie: "quiver_key=x"])
                XCTAssertEqual(badCookie.status, .unauthorized)
                let bearer = try await client.get(uri, headers: [.authorization: "Bearer s3cret"])
                XCTAssertEqual(bearer.status, .ok)
                // Other routes keep the server-wide check, which takes no cookie.
                let embeddings = try await client.post("/v1/embeddings", json: ["input": "x", "model": "all-MiniLM-L6-v2"],
                                                       headers: [.cookie: "quiver_key=s3cret"])
                XCTAssertEqual(embeddings.status, .unauthorized)
            }
        }
    }

    func testConcurrentSearchesShareOneSearcher() async throws {
        let fixture = try await WebFixture.prepared()
        let png = try Data(contentsOf: fixture.files["camera.png"]!)
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.live) { client in
                // Requests arriving together (one connection each) take turns on the base's searcher,
                // whose model caches are not thread-safe.
                let port = try XCTUnwrap(client.port)
                let tops = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for i in 0..<8 {
                        group.addTask {
                            let request = i % 2 == 0
                                ? TestClient.Request("/api/search", method: .post, headers: [.contentType: "application/json"],
                                                     body: ByteBuffer(string: #"{"text": "tomatoes in the garden", "limit": 2}"#))
                                : TestClient.Request("/api/search/file?limit=2&name=camera.png", method: .post, body: ByteBuffer(bytes: png))
                            let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.execute(request) }
                            let body = try JSONSerialization.jsonObject(with: Data(response.body.map { Array($0.readableBytesView) } ?? []))
                            let results = (body as? [String: Any])?["results"] as? [[String: Any]]
                            return (i, results?.first?["name"] as? String)
                        }
                    }
                    var out: [Int: String] = [:]
                    for try await (i, name) in group { out[i] = name ?? "none" }
                    return out
                }
                for i in 0..<8 { XCTAssertEqual(tops[i], i % 2 == 0 ? "gardening.txt" : "camera.png", "request \(i)") }
            }
        }
    }

    func testSearchLaneRunsOneSearchAtATime() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-web-lane-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try VectorStore(path: folder.path)
        let lane = SearchLane(searcher: Searcher(store: store, collection: "quiver", home: ModelHome(root: TestPaths.modelHome)))
        let meter = Meter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await lane.run { _ in
                        meter.enter()
                        try await Task.sleep(nanoseconds: 20_000_000)   // a suspension point inside the turn
                        meter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(meter.runs, 6)
        XCTAssertEqual(meter.peak, 1, "searches of one lane never overlap, even across suspension points")
        try await store.close()
    }

    /// Counts bodies running at once.
    final class Meter: @unchecked Sendable {
        private let lock = NSLock()
        private var now = 0
        private(set) var peak = 0
        private(set) var runs = 0
        func enter() { lock.withLock { now += 1; runs += 1; peak = max(peak, now) } }
        func leave() { lock.withLock { now -= 1 } }
    }

    func testRangeParsing() {
        typealias R = WebMedia.ByteRange
        XCTAssertEqual(WebMedia.parseRange(nil, size: 100), .whole)
        XCTAssertEqual(WebMedia.parseRange("bytes=0-9", size: 100), .part(R(first: 0, last: 9)))
        XCTAssertEqual(WebMedia.parseRange("bytes=90-200", size: 100), .part(R(first: 90, last: 99)))
        XCTAssertEqual(WebMedia.parseRange("bytes=10-", size: 100), .part(R(first: 10, last: 99)))
        XCTAssertEqual(WebMedia.parseRange("bytes=-30", size: 100), .part(R(first: 70, last: 99)))
        XCTAssertEqual(WebMedia.parseRange("bytes=-300", size: 100), .part(R(first: 0, last: 99)))
        XCTAssertEqual(WebMedia.parseRange("bytes=100-", size: 100), .unsatisfiable)
        XCTAssertEqual(WebMedia.parseRange("bytes=-0", size: 100), .unsatisfiable)
        XCTAssertEqual(WebMedia.parseRange("bytes=0-0", size: 0), .unsatisfiable)
        XCTAssertEqual(WebMedia.parseRange("bytes=5-2", size: 100), .whole)
        XCTAssertEqual(WebMedia.parseRange("bytes=0-1,5-6", size: 100), .whole)
        XCTAssertEqual(WebMedia.parseRange("items=0-1", size: 100), .whole)
        XCTAssertEqual(WebMedia.parseRange("bytes=a-b", size: 100), .whole)
    }

    /// Upload temporaries in the temporary folder.
    static func uploads() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? []
        return Set(names.filter { $0.hasPrefix("quiver-upload-") })
    }
}
