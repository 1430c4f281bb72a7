/// Reads a sample out of Prometheus' text format (what the relay's `GET /metrics` writes). Pure.
enum PrometheusText {
    /// The value of the unlabelled sample `name` (e.g. `process_cpu_seconds_total`), or nil when the
    /// text has no such line or its value is not a number.
    static func value(of name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let rest = line.dropFirst(name.count)
            guard rest.first == " " else { continue }  // a longer name, or labels
            let fields = rest.split(separator: " ")
            guard let first = fields.first, let value = Double(first), value.isFinite else { return nil }
            return value
        }
        return nil
    }
}
