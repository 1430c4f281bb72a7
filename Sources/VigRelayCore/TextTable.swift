/// Rows of cells as lines of aligned columns, two spaces apart, for the command-line tables (the
/// client's `SessionTable` and `CycleTable`, `vigrelay retention`). The last column is not padded.
/// Pure; any thread.
public enum TextTable {
    /// A relay time (`2027-01-15T08:03:10.512Z`) to the minute, as the tables show it: `2027-01-15 08:03` (UTC).
    public static func minute(_ time: String) -> String {
        String(time.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    public static func lines(header: [String], rows: [[String]]) -> [String] {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return ([header] + rows).map { cells in
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
