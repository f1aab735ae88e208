import Foundation

/// DOCX (Office Open XML) and ODT (OpenDocument) text: paragraphs and headings of the main body.
enum OfficeExtractor {
    /// `word/document.xml`: `w:p` paragraphs (runs `w:t`, tabs, breaks), headings from the
    /// paragraph style (`Heading1`…, `Title`) or an outline level. Deleted text and field codes are left out.
    static func docx(bytes: [UInt8], path: String, limits: DocumentLimits) throws -> ExtractedDocument {
        let zip = try ZipReader(bytes: bytes, path: path, format: .docx, limits: limits)
        guard let xml = try zip.read("word/document.xml") else {
            throw DocumentError.damaged(path: path, format: "DOCX", reason: "no word/document.xml in the archive")
        }
        let tree = try XMLTree(bytes: xml, html: false, path: path, format: .docx, part: "word/document.xml")
        guard let root = tree.root else { throw DocumentError.damaged(path: path, format: "DOCX", reason: "word/document.xml is empty") }
        var b = BlockBuilder(collapse: false, limits: limits, path: path, format: .docx)
        var heading = false
        try walk(XNode(ptr: root), maxDepth: limits.maxDepth, path: path, format: .docx, enter: { n in
            if n.isText { return false }
            guard n.isElement else { return false }
            switch n.name {
            case "p": heading = false
            case "pStyle":
                let v = (n.attribute("val") ?? "").lowercased()
                if v.hasPrefix("heading") || v == "title" || v == "subtitle" { heading = true }
            case "outlineLvl": heading = true
            case "t": try b.append(n.allText); return false
            case "tab": try b.append("\t")
            case "br", "cr": try b.append("\n")
            case "delText", "instrText", "del": return false
            default: break
            }
            return true
        }, leave: { n in
            if n.name == "p" { b.end(heading: heading); heading = false }
            if n.name == "tc" { b.end() }
        })
        var title: String?
        if let core = try? zip.read("docProps/core.xml"), let t = try? XMLTree(bytes: core, html: false, path: path, format: .docx, part: nil),
           let r = t.root {
            var c = r.pointee.children
            while let k = c { let x = XNode(ptr: k); if x.name == "title" { title = x.allText }; c = k.pointee.next }
        }
        return ExtractedDocument(path: path, format: .docx, title: title?.isEmpty == false ? title : nil, blocks: b.blocks, pageCount: nil,
                                 warnings: [])
    }

    /// `content.xml`: `text:h` headings and `text:p` paragraphs (spans, `text:s` spaces, tabs,
    /// line breaks); page numbers where the writer recorded page breaks (`text:soft-page-break`,
    /// as LibreOffice does).
    static func odt(bytes: [UInt8], path: String, limits: DocumentLimits) throws -> ExtractedDocument {
        let zip = try ZipReader(bytes: bytes, path: path, format: .odt, limits: limits)
        guard let xml = try zip.read("content.xml") else {
            throw DocumentError.damaged(path: path, format: "ODT", reason: "no content.xml in the archive")
        }
        let tree = try XMLTree(bytes: xml, html: false, path: path, format: .odt, part: "content.xml")
        guard let root = tree.root else { throw DocumentError.damaged(path: path, format: "ODT", reason: "content.xml is empty") }
        var b = BlockBuilder(collapse: false, limits: limits, path: path, format: .odt)
        let paged = xml.firstRange(of: Array("soft-page-break".utf8)) != nil
        if paged { b.page = 1 }
        var inBody = false
        // Automatic paragraph styles derived from a heading style (LibreOffice writes a heading
        // with a page break as `text:p` of such a style).
        var headingStyles: Set<String> = []
        try walk(XNode(ptr: root), maxDepth: limits.maxDepth, path: path, format: .odt, enter: { n in
            guard n.isElement else { return false }
            if n.name == "style", let name = n.attribute("name"), let parent = n.attribute("parent-style-name"),
               parent.hasPrefix("Heading") || parent == "Title" { headingStyles.insert(name) }
            return n.name != "body"
        }, leave: { _ in })
        try walk(XNode(ptr: root), maxDepth: limits.maxDepth, path: path, format: .odt, enter: { n in
            if n.isText { if inBody { try b.append(n.content) }; return false }
            guard n.isElement else { return false }
            switch n.name {
            case "automatic-styles", "font-face-decls", "scripts", "tracked-changes", "annotation", "sequence-decls": return false
            case "body": inBody = true
            case "s": try b.append(String(repeating: " ", count: min(1000, Int(n.attribute("c") ?? "1") ?? 1)))
            case "tab": try b.append("\t")
            case "line-break": try b.append("\n")
            case "soft-page-break":
                // A break between paragraphs starts the next page; inside one it splits it.
                if paged { b.end(); b.page = (b.page ?? 1) + 1 }
            default: break
            }
            return true
        }, leave: { n in
            switch n.name {
            case "h": b.end(heading: true)
            case "p": b.end(heading: headingStyles.contains(n.attribute("style-name") ?? ""))
            case "body": inBody = false
            default: break
            }
        })
        return ExtractedDocument(path: path, format: .odt, title: nil, blocks: b.blocks, pageCount: paged ? b.page : nil, warnings: [])
    }
}

/// HTML (and EPUB's XHTML chapters) through libxml2's HTML parser: the main text (`<main>`, else
/// `<article>`, else `<body>` without navigation, headers, footers and asides), the `<title>`
/// and `h1`–`h6` headings as sections; scripts, styles and other non-text elements dropped.
enum HTMLExtractor {
    static let dropped: Set<String> = ["script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
                                       "canvas", "head", "select", "button", "audio", "video", "map"]
    static let outsideMain: Set<String> = ["nav", "header", "footer", "aside", "form"]
    static let blockElements: Set<String> = [
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "pre", "blockquote", "section", "article", "main", "table", "tr",
        "td", "th", "caption", "figcaption", "figure", "address", "hr", "br", "body", "details", "summary", "h1", "h2", "h3",
        "h4", "h5", "h6", "center",
    ]

    static func extract(bytes: [UInt8], path: String, limits: DocumentLimits, format: DocumentFormat = .html,
                        into builder: inout BlockBuilder, part: String? = nil) throws -> String? {
        let tree = try XMLTree(bytes: bytes, html: true, path: path, format: format, part: part)
        guard let root = tree.root else { return nil }
        var title: String?
        var main: XNode?, article: XNode?, body: XNode?
        try walk(XNode(ptr: root), maxDepth: limits.maxDepth, path: path, format: format, enter: { n in
            guard n.isElement else { return false }
            switch n.name {
            case "title": if title == nil { title = BlockBuilder.collapsed(n.allText) }; return false
            case "main": if main == nil { main = n }
            case "article": if article == nil { article = n }
            case "body": if body == nil { body = n }
            case "script", "style", "svg", "math", "template": return false
            default: break
            }
            return true
        }, leave: { _ in })
        let start = main ?? article ?? body ?? XNode(ptr: root)
        let skipChrome = main == nil && article == nil
        var pre = 0
        var b = builder
        try walk(start, maxDepth: limits.maxDepth, path: path, format: format, enter: { n in
            if n.isText {
                try b.append(pre > 0 ? n.content : n.content.replacingOccurrences(of: "\n", with: " "))
                return false
            }
            guard n.isElement else { return false }
            let name = n.name
            if dropped.contains(name) || (skipChrome && outsideMain.contains(name)) { return false }
            if n.attribute("hidden") != nil || n.attribute("aria-hidden") == "true" { return false }
            if blockElements.contains(name) { b.end(keepWhitespace: pre > 0) }
            if name == "pre" { pre += 1 }
            if name == "br" { try b.append("\n") }
            if name == "td" || name == "th" { try b.append(" ") }
            return true
        }, leave: { n in
            let name = n.name
            if name == "pre" { b.end(keepWhitespace: true); pre -= 1; return }
            if name.count == 2, name.first == "h", let level = Int(String(name.last!)), (1...6).contains(level) {
                b.end(heading: true); return
            }
            if blockElements.contains(name) { b.end(keepWhitespace: pre > 0) }
        })
        b.end()
        builder = b
        return title?.isEmpty == false ? title : nil
    }
}

/// EPUB: the spine's XHTML documents in reading order, each through `HTMLExtractor`.
enum EPUBExtractor {
    static func extract(bytes: [UInt8], path: String, limits: DocumentLimits) throws -> ExtractedDocument {
        let zip = try ZipReader(bytes: bytes, path: path, format: .epub, limits: limits)
        func fail(_ r: String) -> DocumentError { .damaged(path: path, format: "EPUB", reason: r) }
        guard let container = try zip.read("META-INF/container.xml") else { throw fail("no META-INF/container.xml") }
        let c = try XMLTree(bytes: container, html: false, path: path, format: .epub, part: "META-INF/container.xml")
        var opfPath: String?
        if let r = c.root {
            try walk(XNode(ptr: r), maxDepth: limits.maxDepth, path: path, format: .epub, enter: { n in
                if n.isElement, n.name == "rootfile", opfPath == nil { opfPath = n.attribute("full-path") }
                return n.isElement
            }, leave: { _ in })
        }
        guard let opfPath, let opf = try zip.read(opfPath) else { throw fail("container.xml names no package document that is in the archive") }
        let o = try XMLTree(bytes: opf, html: false, path: path, format: .epub, part: opfPath)
        var manifest: [String: (href: String, type: String)] = [:]
        var spine: [String] = []
        var title: String?
        if let r = o.root {
            try walk(XNode(ptr: r), maxDepth: limits.maxDepth, path: path, format: .epub, enter: { n in
                guard n.isElement else { return false }
                switch n.name {
                case "item": if let id = n.attribute("id"), let h = n.attribute("href") { manifest[id] = (h, n.attribute("media-type") ?? "") }
                case "itemref": if let id = n.attribute("idref"), n.attribute("linear") != "no" { spine.append(id) }
                case "title": if title == nil { title = BlockBuilder.collapsed(n.allText) }
                default: break
                }
                return true
            }, leave: { _ in })
        }
        let base = (opfPath as NSString).deletingLastPathComponent
        var b = BlockBuilder(collapse: true, limits: limits, path: path, format: .epub)
        for id in spine {
            guard let item = manifest[id], item.type.contains("html") else { continue }
            let href = item.href.removingPercentEncoding ?? item.href
            let name = base.isEmpty ? href : (base as NSString).appendingPathComponent(href)
            guard let xhtml = try zip.read((name as NSString).standardizingPath) ?? zip.read(name) else {
                throw fail("the spine names \(name), which is not in the archive")
            }
            _ = try HTMLExtractor.extract(bytes: xhtml, path: path, limits: limits, format: .epub, into: &b, part: name)
        }
        return ExtractedDocument(path: path, format: .epub, title: title?.isEmpty == false ? title : nil, blocks: b.blocks, pageCount: nil, warnings: [])
    }
}
