import Foundation

/// Reads environment variables, treating empty values as unset.
enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }
}
