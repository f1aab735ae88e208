import CCairo
import Foundation

/// Draws an `EvaluationReport` as a grouped bar chart with cairo: one group per metric (nDCG,
/// MRR, recall at each cutoff), one bar per (model, mode) in a fixed color, the value above
/// each bar, a legend below. PNG or SVG, chosen by the file name.
public enum EvaluationChart {
    /// The image formats a chart is written in.
    public enum Format: String, Sendable { case png, svg }

    /// The format for a file name (`.png` or `.svg`), or nil.
    public static func format(for url: URL) -> Format? { Format(rawValue: url.pathExtension.lowercased()) }

    /// The metric columns of a report, in table order: nDCG, MRR, then recall, each by cutoff.
    public static func columns(_ report: EvaluationReport) -> [(name: String, value: (RetrievalMetrics) -> Double)] {
        guard let m = report.results.first?.metrics else { return [] }
        return m.ndcg.keys.sorted().map { k in (name: "nDCG@\(k)", value: { $0.ndcg[k] ?? 0 }) }
            + m.mrr.keys.sorted().map { k in (name: "MRR@\(k)", value: { $0.mrr[k] ?? 0 }) }
            + m.recall.keys.sorted().map { k in (name: "R@\(k)", value: { $0.recall[k] ?? 0 }) }
    }

    /// Writes the chart of `report` to `url` (PNG or SVG by its extension).
    /// - Throws: `QuiverError.invalidEvaluation` for another extension, an empty report, or when
    ///   cairo cannot write the file (its status message).
    public static func write(_ report: EvaluationReport, to url: URL, title: String? = nil) throws {
        guard let format = format(for: url) else {
            throw QuiverError.invalidEvaluation(reason: "the chart file \(url.path) must end in .png or .svg")
        }
        let cols = columns(report)
        guard !cols.isEmpty else { throw QuiverError.invalidEvaluation(reason: "no results to draw") }
        let runs = report.results
        // Layout (points): bars of `barW`, groups separated by `gap`, legend rows under the plot.
        let barW = 18.0, gap = 24.0, left = 56.0, right = 20.0, top = 48.0, plotH = 260.0
        let groupW = Double(runs.count) * barW
        let legendCols = 2, legendRowH = 18.0
        let legendRows = (runs.count + legendCols - 1) / legendCols
        let width = max(640, left + right + Double(cols.count) * (groupW + gap))
        let height = top + plotH + 40 + Double(legendRows) * legendRowH + 16

        let surface: OpaquePointer?
        switch format {
        case .png: surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width.rounded(.up)), Int32(height.rounded(.up)))
        case .svg: surface = cairo_svg_surface_create(url.path, width, height)
        }
        guard let surface, cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw QuiverError.invalidEvaluation(reason: "cairo cannot make a \(format.rawValue) surface for \(url.path): \(status(surface))")
        }
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr) }

        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)

        // Title.
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
        cairo_set_font_size(cr, 14)
        text(cr, title ?? "Retrieval quality: \(report.queries) queries, \(report.documents) documents", x: left, y: 26)

        // Axis and grid (0 to 1).
        let x0 = left, y0 = top + plotH
        cairo_set_font_size(cr, 10)
        for i in 0...5 {
            let v = Double(i) / 5, y = y0 - v * plotH
            cairo_set_source_rgb(cr, 0.88, 0.88, 0.88)
            cairo_set_line_width(cr, 1)
            cairo_move_to(cr, x0, y); cairo_line_to(cr, width - right, y); cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.3, 0.3, 0.3)
            text(cr, String(format: "%.1f", v), x: x0 - 8, y: y + 3.5, align: 1)
        }

        // Bars, by metric group.
        for (gi, col) in cols.enumerated() {
            let gx = x0 + gap / 2 + Double(gi) * (groupW + gap)
            for (ri, r) in runs.enumerated() {
                let v = min(max(col.value(r.metrics), 0), 1)
                let c = palette[ri % palette.count]
                cairo_set_source_rgb(cr, c.0, c.1, c.2)
                let bx = gx + Double(ri) * barW
                cairo_rectangle(cr, bx + 1, y0 - v * plotH, barW - 2, v * plotH)
                cairo_fill(cr)
                cairo_set_source_rgb(cr, 0.2, 0.2, 0.2)
                cairo_set_font_size(cr, 7)
                text(cr, String(format: "%.2f", v).replacingOccurrences(of: "0.", with: "."), x: bx + barW / 2, y: y0 - v * plotH - 3, align: 0.5)
            }
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            cairo_set_font_size(cr, 11)
            text(cr, col.name, x: gx + groupW / 2, y: y0 + 16, align: 0.5)
        }
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3)
        cairo_set_line_width(cr, 1)
        cairo_move_to(cr, x0, y0); cairo_line_to(cr, width - right, y0); cairo_stroke(cr)

        // Legend.
        cairo_set_font_size(cr, 11)
        let colW = (width - left - right) / Double(legendCols)
        for (ri, r) in runs.enumerated() {
            let lx = left + Double(ri % legendCols) * colW, ly = y0 + 36 + Double(ri / legendCols) * legendRowH
            let c = palette[ri % palette.count]
            cairo_set_source_rgb(cr, c.0, c.1, c.2)
            cairo_rectangle(cr, lx, ly - 9, 12, 12)
            cairo_fill(cr)
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1)
            text(cr, r.label, x: lx + 18, y: ly + 1)
        }

        cairo_surface_flush(surface)
        if format == .png {
            let s = cairo_surface_write_to_png(surface, url.path)
            guard s == CAIRO_STATUS_SUCCESS else {
                throw QuiverError.invalidEvaluation(reason: "cairo cannot write \(url.path): \(String(cString: cairo_status_to_string(s)))")
            }
        } else {
            cairo_surface_finish(surface)
            guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
                throw QuiverError.invalidEvaluation(reason: "cairo cannot write \(url.path): \(status(surface))")
            }
        }
    }

    /// Tableau's ten colors (matplotlib's default cycle).
    static let palette: [(Double, Double, Double)] = [
        (0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173), (0.839, 0.153, 0.157), (0.580, 0.404, 0.741),
        (0.549, 0.337, 0.294), (0.890, 0.467, 0.761), (0.498, 0.498, 0.498), (0.737, 0.741, 0.133), (0.090, 0.745, 0.812),
    ]

    static func status(_ surface: OpaquePointer?) -> String {
        guard let surface else { return "no surface" }
        return String(cString: cairo_status_to_string(cairo_surface_status(surface)))
    }

    /// Draws `s` with its baseline at `y`; `align` 0 puts its left end at `x`, 0.5 its middle, 1 its right end.
    static func text(_ cr: OpaquePointer, _ s: String, x: Double, y: Double, align: Double = 0) {
        var ext = cairo_text_extents_t()
        cairo_text_extents(cr, s, &ext)
        cairo_move_to(cr, x - align * ext.x_advance, y)
        cairo_show_text(cr, s)
    }
}
