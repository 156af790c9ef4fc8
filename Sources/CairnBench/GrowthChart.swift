import Foundation

/// The growth figures drawn as an SVG (plain text, no library): one panel per figure, a
/// logarithmic x axis (the work: mempool or UTXO set size) and a linear y axis from 0, each point
/// labelled with its value, so the curve's shape shows at a glance.
enum GrowthChart {
    struct Panel {
        var title: String
        var xLabel: String
        var points: [(Double, Double)]
        /// A second series drawn dashed (e.g. p99 next to p50).
        var second: [(Double, Double)] = []
    }

    static func svg(panels: [Panel]) -> String {
        let w = 460.0, h = 300.0, columns = 2
        let rows = (panels.count + columns - 1) / columns
        var s = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(w) * columns)" height="\#(Int(h) * rows + 30)" font-family="sans-serif" font-size="11">"#
        s += #"<rect width="100%" height="100%" fill="white"/>"#
        s += #"<text x="10" y="20" font-size="14" font-weight="bold">Cairn: how cost grows with work (cairn-bench)</text>"#
        for (i, p) in panels.enumerated() {
            s += panel(p, x0: Double(i % columns) * w, y0: 30 + Double(i / columns) * h, w: w, h: h)
        }
        return s + "</svg>\n"
    }

    static func panel(_ p: Panel, x0: Double, y0: Double, w: Double, h: Double) -> String {
        let left = x0 + 60, right = x0 + w - 20, top = y0 + 30, bottom = y0 + h - 45
        var s = #"<text x="\#(x0 + 10)" y="\#(y0 + 18)" font-size="12" font-weight="bold">\#(escape(p.title))</text>"#
        s += #"<line x1="\#(left)" y1="\#(bottom)" x2="\#(right)" y2="\#(bottom)" stroke="black"/>"#
        s += #"<line x1="\#(left)" y1="\#(top)" x2="\#(left)" y2="\#(bottom)" stroke="black"/>"#
        s += #"<text x="\#((left + right) / 2)" y="\#(bottom + 32)" text-anchor="middle">\#(escape(p.xLabel)), log scale</text>"#
        let all = (p.points + p.second).filter { $0.0 > 0 && $0.1.isFinite }
        guard !all.isEmpty else {
            return s + #"<text x="\#((left + right) / 2)" y="\#((top + bottom) / 2)" text-anchor="middle">not measured</text>"#
        }
        var lo = log10(all.map(\.0).min()!), hi = log10(all.map(\.0).max()!)
        lo = lo.rounded(.down); hi = max(hi.rounded(.up), lo + 1)
        let yMax = niceCeiling(all.map(\.1).max()! * 1.1)
        func px(_ x: Double) -> Double { left + (log10(x) - lo) / (hi - lo) * (right - left) }
        func py(_ y: Double) -> Double { bottom - y / yMax * (bottom - top) }
        // x ticks at powers of ten
        var e = lo
        while e <= hi {
            let x = left + (e - lo) / (hi - lo) * (right - left)
            s += #"<line x1="\#(x)" y1="\#(bottom)" x2="\#(x)" y2="\#(bottom + 4)" stroke="black"/>"#
            s += #"<text x="\#(x)" y="\#(bottom + 16)" text-anchor="middle">\#(short(pow(10, e)))</text>"#
            e += 1
        }
        // y ticks: five
        for k in 0...5 {
            let v = yMax * Double(k) / 5, y = py(v)
            s += #"<line x1="\#(left - 4)" y1="\#(y)" x2="\#(right)" y2="\#(y)" stroke="lightgray"/>"#
            s += #"<text x="\#(left - 6)" y="\#(y + 4)" text-anchor="end">\#(short(v))</text>"#
        }
        for (series, dashed) in [(p.points, false), (p.second, true)] where !series.isEmpty {
            let pts = series.filter { $0.0 > 0 && $0.1.isFinite }
            let path = pts.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
            let color = dashed ? "firebrick" : "steelblue", dash = dashed ? " stroke-dasharray=\"5,4\"" : ""
            s += #"<polyline points="\#(path)" fill="none" stroke="\#(color)" stroke-width="2"\#(dash)/>"#
            for (x, y) in pts {
                s += #"<circle cx="\#(px(x))" cy="\#(py(y))" r="3.5" fill="\#(color)"/>"#
                s += #"<text x="\#(px(x))" y="\#(py(y) - 8)" text-anchor="middle">\#(short(y))</text>"#
            }
        }
        return s
    }

    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let p = pow(10, log10(v).rounded(.down))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= v { return m * p }
        return 10 * p
    }

    static func short(_ v: Double) -> String {
        if v >= 1e6 { return trim(v / 1e6) + "M" }
        if v >= 1e3 { return trim(v / 1e3) + "k" }
        return trim(v)
    }

    static func trim(_ v: Double) -> String {
        if v >= 100 || v == v.rounded() { return String(Int(v.rounded())) }
        return String(format2: v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
