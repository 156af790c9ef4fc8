import Foundation

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
    var microseconds: Double { seconds * 1e6 }
}

struct Table {
    let columns: [String]
    var rows: [[String]] = []

    init(columns: [String]) { self.columns = columns }

    mutating func row(_ name: String, _ value: Double, _ raw: Double?, note: String? = nil) {
        rows.append([name, format(value),
                     raw.map { format($0) + (note.map { " (\($0))" } ?? "") } ?? "—",
                     raw.map { value.isFinite && $0.isFinite && $0 > 0 ? String(format2: value / $0 * 100) + " %" : "—" } ?? "—"])
    }

    func format(_ v: Double) -> String { !v.isFinite ? "n/a" : v >= 100 ? String(Int(v.rounded())) : String(format2: v) }

    func print() { Swift.print(text(), terminator: "") }

    func text() -> String {
        let widths = columns.indices.map { c in ([columns[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        return ([line(columns), widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")] + rows.map(line))
            .map { $0 + "\n" }.joined()
    }
}

extension String {
    init(format2 v: Double) {
        guard v.isFinite else { self = "n/a"; return }
        let scaled = (v * 100).rounded()
        let whole = Int(scaled / 100)
        let frac = Int(abs(scaled).truncatingRemainder(dividingBy: 100))
        self = "\(whole)." + (frac < 10 ? "0" : "") + "\(frac)"
    }

}
