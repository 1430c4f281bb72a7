import ArgumentParser
import Foundation

/// `--token` and `--invite` as given, or `@FILE`: read from FILE (surrounding whitespace dropped),
/// so that a token need not stand in the process's command line, where `ps` shows it to every user
/// of the machine. A token never starts with `@` (JWTs are base64url), so the two cannot be confused.
enum SecretArgument {
    /// The ArgumentParser transform for such an option: a file that cannot be read, or holds
    /// nothing, is a usage error (exit 64) naming the file.
    static func read(_ value: String) throws -> String {
        guard value.hasPrefix("@") else { return value }
        let path = String(value.dropFirst())
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read '\(path)' (the @FILE form reads the value from FILE): check the path and its permissions")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ValidationError("'\(path)' is empty: it should hold the token or invite on one line") }
        return text
    }

    /// The help's note on the form.
    static let note = " Or @FILE: read from FILE (keeps it out of the command line, which other users can see)."
}
