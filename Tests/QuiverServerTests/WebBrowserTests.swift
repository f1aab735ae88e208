import Foundation
import Hummingbird
import HummingbirdTesting
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// The search page in a real headless Chromium, driven over the DevTools protocol: a text query,
/// an upload, an audio player, an error; screenshots go to `.build/test-artifacts/web-*.png`.
final class WebBrowserTests: XCTestCase {
    static let artifacts = TestPaths.repositoryRoot.appendingPathComponent(".build/test-artifacts")

    func testSearchPageInChromium() async throws {
        try await withBrowser { browser, url, fixture in try await Self.drive(browser, url: url, fixture: fixture) }
    }

    func testAPIKeyFieldInChromium() async throws {
        try await withBrowser(apiKey: "s3cret") { browser, url, fixture in try await Self.driveWithKey(browser, url: url, fixture: fixture) }
    }

    /// Runs `body` with a browser and a live server over the fixture store; the browser is killed
    /// afterwards, also on failure. Skips when no Chromium is installed (fails under QUIVER_REQUIRE_MODELS=1).
    func withBrowser(apiKey: String? = nil,
                     _ body: @escaping @Sendable (BrowserSession, String, WebFixture.Prepared) async throws -> Void) async throws {
        guard let chromium = BrowserSession.executable() else {
            let message = "chromium is not installed: run `apt-get install chromium` (scripts/install-system-deps.sh does)"
            if TestPaths.modelsRequired { XCTFail(message) }
            throw XCTSkip(message)
        }
        let fixture = try await WebFixture.prepared()
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let log = Self.artifacts.appendingPathComponent("web-chromium.log").path
        try await WebFixture.withServer(fixture, { $0.apiKey = apiKey }) { server in
            try await ServerTest.application(server).test(.live) { client in
                let port = try XCTUnwrap(client.port)
                let browser = try BrowserSession(executable: chromium, logPath: log)
                defer { browser.close() }
                try await body(browser, "http://127.0.0.1:\(port)/", fixture)
            }
        }
    }

    /// Opens a 1280×900 page at `url`; returns its DevTools session id.
    static func open(_ browser: BrowserSession, url: String) async throws -> String {
        let target = try await browser.call("Target.createTarget", ["url": "about:blank"], timeout: 20)
        let targetID = try XCTUnwrap(target["targetId"] as? String)
        let attached = try await browser.call("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        let session = try XCTUnwrap(attached["sessionId"] as? String)
        try await browser.call("Page.enable", session: session)
        try await browser.call("Emulation.setDeviceMetricsOverride",
                               ["width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false], session: session)
        try await browser.call("Page.navigate", ["url": url], session: session)
        return session
    }

    /// Uploads `file` through the page's file input.
    static func upload(_ browser: BrowserSession, session: String, file: URL) async throws {
        let document = try await browser.call("DOM.getDocument", ["depth": 0], session: session)
        let root = try XCTUnwrap((document["root"] as? [String: Any])?["nodeId"] as? Int)
        let input = try await browser.call("DOM.querySelector", ["nodeId": root, "selector": "#file"], session: session)
        let inputNode = try XCTUnwrap(input["nodeId"] as? Int)
        try await browser.call("DOM.setFileInputFiles", ["files": [file.path], "nodeId": inputNode], session: session)
    }

    static func driveWithKey(_ browser: BrowserSession, url: String, fixture: WebFixture.Prepared) async throws {
        let session = try await open(browser, url: url)
        // Without the key the page loads, says what to do and opens the key field.
        try await browser.waitUntil("document.readyState === 'complete' && document.querySelector('#store').textContent.includes('API key')",
                                    session: session, timeout: 10, what: "the missing-key message")
        let opened = try await browser.evaluate("document.querySelector('#more').open", session: session)
        XCTAssertEqual(opened as? Bool, true)
        _ = try await browser.evaluate("""
            (() => { const k = document.querySelector('#key'); k.value = 's3cret'; k.dispatchEvent(new Event('change')); return true; })()
            """, session: session)
        try await browser.waitUntil("document.querySelector('#store .coll')", session: session, timeout: 10, what: "the store line with the key")
        let stored = try await browser.evaluate("localStorage.getItem('quiverKey')", session: session)
        XCTAssertEqual(stored as? String, "s3cret")
        // Thumbnails authenticate with the cookie the page sets.
        try await Self.upload(browser, session: session, file: fixture.files["camera.png"]!)
        try await browser.waitUntil("document.querySelector('#results .card img') || document.querySelector('#messages .error')",
                                    session: session, timeout: 30, what: "image results with the key")
        try await browser.waitUntil("[...document.querySelectorAll('#results .card img')].every(i => i.complete && i.naturalWidth > 0)",
                                    session: session, timeout: 10, what: "thumbnails loaded with the key cookie")
        let top = try await browser.evaluate("document.querySelector('#results .card').dataset.path", session: session)
        XCTAssertEqual(top as? String, fixture.files["camera.png"]?.path)
        // "Find similar" on another image card: its file (fetched with the key) becomes the query.
        let clicked = try await browser.evaluate("""
            (() => { const c = [...document.querySelectorAll('#results .card')].find(c => c.dataset.path.endsWith('/astronaut.png'));
                     if (!c) return false; c.querySelector('.similar').click(); return true; })()
            """, session: session)
        XCTAssertEqual(clicked as? Bool, true, "astronaut.png is among camera.png's neighbours")
        try await browser.waitUntil("""
            (document.querySelector('#query-file').innerText.includes('astronaut.png') &&
             document.querySelector('#results .card').dataset.path.endsWith('/astronaut.png')) || document.querySelector('#messages .error')
            """, session: session, timeout: 20, what: "the similar search")
        let similarTop = try await browser.evaluate("document.querySelector('#results .card').dataset.path", session: session)
        XCTAssertEqual(similarTop as? String, fixture.files["astronaut.png"]?.path)
    }

    static func drive(_ browser: BrowserSession, url: String, fixture: WebFixture.Prepared) async throws {
        let session = try await open(browser, url: url)
        try await browser.waitUntil("document.readyState === 'complete' && document.querySelector('#store .coll')",
                                    session: session, timeout: 10, what: "the page and its store line")
        let storeLine = try await browser.evaluate("document.querySelector('#store').innerText", session: session)
        let store = storeLine as? String ?? ""
        XCTAssertTrue(store.contains("quiver_text") && store.contains("4 rows") && store.contains("all-MiniLM-L6-v2"), store)

        // 1. A text query, typed and submitted.
        _ = try await browser.evaluate("""
            (() => { const q = document.querySelector('#q'); q.value = 'how long should the espresso extract?';
                     document.querySelector('#search-form').requestSubmit(); return true; })()
            """, session: session)
        try await browser.waitUntil("document.querySelectorAll('#results .card').length > 0 || document.querySelector('#messages .error')",
                                    session: session, timeout: 30, what: "text results")
        let textState = try await browser.evaluate("""
            (() => { const c = document.querySelector('#results .card');
                     return { path: c.dataset.path, modality: c.dataset.modality, cards: document.querySelectorAll('#results .card').length,
                              mark: [...c.querySelectorAll('mark')].map(m => m.textContent.toLowerCase()),
                              where: c.querySelector('.where').textContent,
                              notes: [...document.querySelectorAll('#messages .note')].map(n => n.textContent),
                              error: (document.querySelector('#messages .error') || {}).textContent || null,
                              status: document.querySelector('#status').textContent }; })()
            """, session: session)
        let text = try XCTUnwrap(textState as? [String: Any])
        XCTAssertNil(text["error"] as? String)
        XCTAssertEqual(text["path"] as? String, fixture.files["coffee.txt"]?.path, "\(text)")
        XCTAssertEqual(text["modality"] as? String, "text")
        XCTAssertEqual(text["cards"] as? Int, 4, "the four text files")
        XCTAssertTrue((text["mark"] as? [String] ?? []).contains("espresso"), "query words are highlighted: \(text)")
        XCTAssertEqual(text["where"] as? String, "chunk 0 · chars 0–\(WebFixture.texts["coffee.txt"]!.unicodeScalars.count)")
        XCTAssertTrue((text["notes"] as? [String] ?? []).contains { $0.contains("no CLIP model installed") }, "\(text)")
        XCTAssertTrue((text["status"] as? String ?? "").hasPrefix("4 results for"), "\(text)")
        try await screenshot(browser, session: session, name: "web-text")

        // 2. An upload through the file input: image results with loaded thumbnails.
        try await Self.upload(browser, session: session, file: fixture.files["chelsea.png"]!)
        try await browser.waitUntil("""
            document.querySelector('#results .card[data-modality="image"]') || document.querySelector('#messages .error')
            """, session: session, timeout: 30, what: "image results of the upload")
        try await browser.waitUntil("""
            [...document.querySelectorAll('#results .card img')].every(i => i.complete && i.naturalWidth > 0) &&
            [...document.querySelectorAll('#results .card video')].every(v => v.readyState >= 1)
            """, session: session, timeout: 10, what: "thumbnails and video metadata loaded",
            diagnostic: "[...document.querySelectorAll('#results .card img, #results .card video')].map(i => i.src + ' ' + (i.naturalWidth ?? i.readyState)).join('; ')")
        let uploadState = try await browser.evaluate("""
            (() => { const cards = [...document.querySelectorAll('#results .card')];
                     const images = cards.filter(c => c.dataset.modality === 'image'), videos = cards.filter(c => c.dataset.modality === 'video');
                     return { top: cards[0].dataset.path, cards: cards.length,
                              widths: images.map(c => c.querySelector('img').naturalWidth),
                              lazy: images.every(c => c.querySelector('img').loading === 'lazy'),
                              videos: videos.map(c => ({ src: c.querySelector('video').getAttribute('src'), where: c.querySelector('.where').textContent,
                                                          time: c.querySelector('video').currentTime, frame: c.dataset.id.split('#').pop() })),
                              chip: document.querySelector('#query-file').innerText.trim(),
                              error: (document.querySelector('#messages .error') || {}).textContent || null }; })()
            """, session: session)
        let upload = try XCTUnwrap(uploadState as? [String: Any])
        XCTAssertNil(upload["error"] as? String)
        XCTAssertEqual(upload["top"] as? String, fixture.files["chelsea.png"]?.path, "\(upload)")
        // Limit 10 over 3 images and 11 video rows: both kinds show.
        let widths = upload["widths"] as? [Int] ?? []
        let videos = upload["videos"] as? [[String: Any]] ?? []
        XCTAssertEqual(upload["cards"] as? Int, 10)
        XCTAssertEqual(widths.count + videos.count, 10, "\(upload)")
        XCTAssertEqual(widths.first, 451, "chelsea.png is 451 pixels wide")
        XCTAssertTrue(widths.allSatisfy { $0 > 0 }, "\(upload)")
        XCTAssertGreaterThanOrEqual(videos.count, 7, "\(upload)")
        // Video hits: a player starting at the hit's second (media fragment) and the range printed.
        for v in videos {
            let src = v["src"] as? String ?? "", where_ = v["where"] as? String ?? "", time = v["time"] as? Double ?? -1
            if let n = Int(v["frame"] as? String ?? "") {
                XCTAssertTrue(src.hasSuffix("#t=\(n),\(n + 1)"), src)
                XCTAssertEqual(where_, "0:\(String(format: "%02d", n))–0:\(String(format: "%02d", n + 1)) · frame \(n * 25)", "\(v)")
                XCTAssertEqual(time, Double(n), accuracy: 0.05, "the player starts at the hit: \(v)")
            } else {
                XCTAssertEqual(where_, "0:00–0:10 · whole video", "\(v)")
            }
        }
        XCTAssertEqual(upload["lazy"] as? Bool, true)
        XCTAssertTrue((upload["chip"] as? String ?? "").contains("chelsea.png"))
        try await screenshot(browser, session: session, name: "web-upload")

        // 3. An audio upload: a player whose media loads (the browser reads it with Range requests).
        try await Self.upload(browser, session: session, file: fixture.files["speech_0.wav"]!)
        try await browser.waitUntil("document.querySelector('#results .card[data-modality=\"audio\"] audio') || document.querySelector('#messages .error')",
                                    session: session, timeout: 30, what: "audio results")
        try await browser.waitUntil("document.querySelector('#results .card audio').readyState >= 1", session: session, timeout: 10,
                                    what: "the audio player's metadata",
                                    diagnostic: "(() => { const a = document.querySelector('#results .card audio'); return a.src + ' ' + a.readyState + ' ' + (a.error && a.error.message); })()")
        let audioState = try await browser.evaluate("""
            (() => { const c = document.querySelector('#results .card'), a = c.querySelector('audio');
                     return { path: c.dataset.path, duration: a.duration, src: a.getAttribute('src'), where: c.querySelector('.where').textContent }; })()
            """, session: session)
        let audio = try XCTUnwrap(audioState as? [String: Any])
        XCTAssertEqual(audio["path"] as? String, fixture.files["speech_0.wav"]?.path)
        XCTAssertGreaterThan(audio["duration"] as? Double ?? 0, 1, "\(audio)")
        XCTAssertTrue((audio["src"] as? String ?? "").contains("#t=0,"), "\(audio)")
        XCTAssertTrue((audio["where"] as? String ?? "").hasPrefix("0:00–0:0"), "\(audio)")
        try await screenshot(browser, session: session, name: "web-audio")

        // 4. The server's error message is shown.
        _ = try await browser.evaluate("""
            (() => { document.querySelector('#more').open = true; document.querySelector('#filter').value = 'path like';
                     document.querySelector('#search-form').requestSubmit(); return true; })()
            """, session: session)
        try await browser.waitUntil("document.querySelector('#messages .error')", session: session, timeout: 10, what: "the error message")
        let errorText = try await browser.evaluate("document.querySelector('#messages .error').textContent", session: session)
        let error = errorText as? String ?? ""
        XCTAssertTrue(error.contains("path like"), error)
        let cards = try await browser.evaluate("document.querySelectorAll('#results .card').length", session: session)
        XCTAssertEqual(cards as? Int, 0)
        try await screenshot(browser, session: session, name: "web-error")
    }

    /// Saves a PNG screenshot of the page to `.build/test-artifacts/NAME.png` and checks that it is one.
    static func screenshot(_ browser: BrowserSession, session: String, name: String) async throws {
        let shot = try await browser.call("Page.captureScreenshot", ["format": "png"], session: session, timeout: 15)
        let data = try XCTUnwrap((shot["data"] as? String).flatMap { Data(base64Encoded: $0) }, "no screenshot data")
        let bytes = [UInt8](data)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(width, 1280)
        XCTAssertEqual(height, 900)
        XCTAssertEqual(String(decoding: bytes[(bytes.count - 8)..<(bytes.count - 4)], as: UTF8.self), "IEND")
        let url = Self.artifacts.appendingPathComponent("\(name).png")
        try data.write(to: url)
        print("screenshot: \(url.path)")
    }
}
