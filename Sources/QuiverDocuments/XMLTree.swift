import Foundation
import CLibXML2

/// A libxml2 document parsed from memory (XML or HTML), freed on deinit. No network access, no
/// external entities, no DTD loading; libxml2's own depth and entity-amplification limits apply.
final class XMLTree {
    let doc: xmlDocPtr

    private static let initialized: Bool = { xmlInitParser(); return true }()

    /// Parses `bytes` as XML (`html` false) or with libxml2's forgiving HTML parser.
    /// - Throws: `DocumentError.damaged` with libxml2's message and line, or `.limitExceeded` for
    ///   nesting deeper than libxml2 allows.
    init(bytes: [UInt8], html: Bool, path: String, format: DocumentFormat, part: String?) throws {
        _ = Self.initialized
        let what = part.map { " (\($0))" } ?? ""
        if html {
            guard let ctxt = htmlNewParserCtxt() else { throw DocumentError.damaged(path: path, format: format.displayName, reason: "libxml2 could not make a parser") }
            defer { htmlFreeParserCtxt(ctxt) }
            let options = Int32(HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue
                                | HTML_PARSE_RECOVER.rawValue | HTML_PARSE_COMPACT.rawValue)
            let d = bytes.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(b.count, 1)) {
                    htmlCtxtReadMemory(ctxt, $0, Int32(b.count), nil, nil, options)
                }
            }
            guard let d else { throw Self.error(ctxt, path: path, format: format, what: what) }
            doc = d
        } else {
            guard let ctxt = xmlNewParserCtxt() else { throw DocumentError.damaged(path: path, format: format.displayName, reason: "libxml2 could not make a parser") }
            defer { xmlFreeParserCtxt(ctxt) }
            let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
                                | XML_PARSE_COMPACT.rawValue)
            let d = bytes.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(b.count, 1)) {
                    xmlCtxtReadMemory(ctxt, $0, Int32(b.count), nil, nil, options)
                }
            }
            // A well-formedness error leaves a partial tree in myDoc: refuse it, with the message.
            guard let d, ctxt.pointee.wellFormed != 0 else {
                if let d { xmlFreeDoc(d) }
                throw Self.error(ctxt, path: path, format: format, what: what)
            }
            doc = d
        }
    }

    private static func error(_ ctxt: xmlParserCtxtPtr, path: String, format: DocumentFormat, what: String) -> DocumentError {
        let e = ctxt.pointee.lastError
        var message = e.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not well-formed"
        if message.isEmpty { message = "not well-formed" }
        if message.localizedCaseInsensitiveContains("depth") {
            return .limitExceeded(path: path, format: format.displayName, what: "the element nesting\(what) (\(message))", limit: 256)
        }
        return .damaged(path: path, format: format.displayName, reason: "XML\(what) line \(e.line): \(message)")
    }

    deinit { xmlFreeDoc(doc) }

    var root: xmlNodePtr? { xmlDocGetRootElement(doc) }
}

/// A node of an `XMLTree`, read through its C struct.
struct XNode {
    let ptr: xmlNodePtr

    var isElement: Bool { ptr.pointee.type == XML_ELEMENT_NODE }
    var isText: Bool { ptr.pointee.type == XML_TEXT_NODE || ptr.pointee.type == XML_CDATA_SECTION_NODE }
    /// The local name (without prefix), lowercased for HTML by libxml2 already.
    var name: String { ptr.pointee.name.map { String(cString: $0) } ?? "" }
    /// The namespace URI, if any.
    var namespace: String? { ptr.pointee.ns?.pointee.href.map { String(cString: $0) } }
    /// The text of a text node.
    var content: String { ptr.pointee.content.map { String(cString: $0) } ?? "" }
    var firstChild: XNode? { ptr.pointee.children.map(XNode.init) }
    var next: XNode? { ptr.pointee.next.map(XNode.init) }

    /// The value of attribute `local` (any namespace).
    func attribute(_ local: String) -> String? {
        var a = ptr.pointee.properties
        while let attr = a {
            if let n = attr.pointee.name, String(cString: n) == local {
                var s = ""
                var c = attr.pointee.children
                while let t = c { if let v = t.pointee.content { s += String(cString: v) }; c = t.pointee.next }
                return s
            }
            a = attr.pointee.next
        }
        return nil
    }

    /// All text below this node, concatenated.
    var allText: String {
        var s = ""
        var stack: [XNode] = [self]
        while let n = stack.popLast() {
            if n.isText { s += n.content; continue }
            var children: [XNode] = []
            var c = n.firstChild
            while let k = c { children.append(k); c = k.next }
            stack.append(contentsOf: children.reversed())
        }
        return s
    }
}

/// Walks a tree depth-first without recursion: `enter` returns whether to descend into an
/// element; `leave` is called after an element's children.
/// - Throws: `DocumentError.limitExceeded` for nesting deeper than `maxDepth`.
func walk(_ root: XNode, maxDepth: Int, path: String, format: DocumentFormat,
          enter: (XNode) throws -> Bool, leave: (XNode) throws -> Void) throws {
    // Each frame: the node, and whether its children were entered.
    var stack: [(XNode, Bool)] = [(root, false)]
    var depth = 0
    while let (node, entered) = stack.popLast() {
        if entered { depth -= 1; try leave(node); continue }
        if let next = node.next, node.ptr != root.ptr { stack.append((next, false)) }
        guard try enter(node) else { continue }
        depth += 1
        if depth > maxDepth {
            throw DocumentError.limitExceeded(path: path, format: format.displayName, what: "the element nesting", limit: maxDepth)
        }
        stack.append((node, true))
        if let c = node.firstChild { stack.append((c, false)) }
    }
}
