import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Status line and headers of one HTTP response (header names lowercased).
struct HTTPHead: Sendable {
    let status: Int
    let headers: [String: String]
    let url: URL?

    init(_ response: HTTPURLResponse) {
        status = response.statusCode
        var h: [String: String] = [:]
        for (k, v) in response.allHeaderFields {
            if let k = k as? String, let v = v as? String { h[k.lowercased()] = v }
        }
        headers = h
        url = response.url
    }

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// The outcome of one request: the final response, the redirect responses seen before it, and the
/// body when it was collected in memory (small answers: API JSON, error messages).
struct HTTPExchange: Sendable {
    let head: HTTPHead
    let redirects: [HTTPHead]
    let body: Data
}

/// Receives a streamed response body (downloads). Called on the session's serial delegate queue.
protocol ResponseSink: AnyObject, Sendable {
    /// Called with the final response; returns false to collect the body in memory instead (error answers).
    func begin(_ head: HTTPHead) throws -> Bool
    /// Called with each chunk of the body, in order.
    func write(_ data: Data) throws
}

/// HTTP over URLSession (FoundationNetworking on Linux): no package dependency, delegate-based so bodies
/// stream to disk chunk by chunk and redirect responses (which carry the hub's `X-Linked-Etag`) are seen.
struct HTTPTransport: Sendable {
    let timeout: TimeInterval

    /// Sends `request`. Redirects are followed when `followRedirects` (the `Authorization` header is dropped
    /// when the redirect leaves the original host); otherwise the redirect response is the final one.
    /// The body goes to `sink` when it accepts the response, else into memory (at most 1 MiB kept).
    func send(_ request: URLRequest, followRedirects: Bool, sink: ResponseSink? = nil) async throws -> HTTPExchange {
        let delegate = TransferDelegate(followRedirects: followRedirects, sink: sink, originalHost: request.url?.host)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpShouldSetCookies = false
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: delegate, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPExchange, Error>) in
                delegate.setContinuation(c)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// URLSession delegate for one task. All callbacks arrive on one serial queue; the lock guards the
/// hand-over of the continuation, which is set from the caller's thread.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let followRedirects: Bool
    private let sink: ResponseSink?
    private let originalHost: String?
    private let lock = NSLock()
    private var continuation: CheckedContinuation<HTTPExchange, Error>?
    private var redirects: [HTTPHead] = []
    private var head: HTTPHead?
    private var body = Data()
    private var streaming = false
    private var sinkError: Error?

    init(followRedirects: Bool, sink: ResponseSink?, originalHost: String?) {
        self.followRedirects = followRedirects; self.sink = sink; self.originalHost = originalHost
    }

    func setContinuation(_ c: CheckedContinuation<HTTPExchange, Error>) {
        lock.lock(); continuation = c; lock.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        redirects.append(HTTPHead(response))
        guard followRedirects else { completionHandler(nil); return }
        var next = request
        if let host = next.url?.host, host != originalHost { next.setValue(nil, forHTTPHeaderField: "Authorization") }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { completionHandler(.allow); return }
        let h = HTTPHead(http)
        head = h
        if let sink {
            do { streaming = try sink.begin(h) } catch {
                sinkError = error; completionHandler(.cancel); return
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard sinkError == nil else { return }
        if streaming, let sink {
            do { try sink.write(data) } catch { sinkError = error; dataTask.cancel() }
        } else if body.count < 1 << 20 {
            body.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock(); let c = continuation; continuation = nil; lock.unlock()
        if let sinkError { c?.resume(throwing: sinkError); return }
        if let error { c?.resume(throwing: error); return }
        // A redirect that was not followed may end without a separate final response.
        if head == nil, let r = task.response as? HTTPURLResponse { head = HTTPHead(r) }
        guard let head else {
            c?.resume(throwing: URLError(.badServerResponse)); return
        }
        c?.resume(returning: HTTPExchange(head: head, redirects: redirects, body: body))
    }
}

extension URLError {
    /// True for errors meaning the host cannot be reached at all (as opposed to a transfer cut midway).
    var meansNoNetwork: Bool {
        switch code {
        case .cannotFindHost, .cannotConnectToHost, .notConnectedToInternet, .dnsLookupFailed,
             .internationalRoamingOff, .dataNotAllowed, .secureConnectionFailed:
            return true
        default:
            return false
        }
    }
}
