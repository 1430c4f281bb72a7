/// Recording and clip ids: made by the server, checked before any path is built from them.
///
/// Pure, so the HTTP API checks request ids with them before anything reaches storage.
extension Identifiers {
    /// A new random recording id: 64 bits as 16 lower-case hex characters.
    public static func newRecordingID() -> String { randomHex(bytes: 8) }

    /// A new random clip id: 64 bits as 16 lower-case hex characters.
    public static func newClipID() -> String { randomHex(bytes: 8) }

    /// True for exactly 16 lower-case hex characters.
    public static func isValidRecordingID(_ s: some StringProtocol) -> Bool { isLowerHex(s, count: 16) }

    /// True for exactly 16 lower-case hex characters.
    public static func isValidClipID(_ s: some StringProtocol) -> Bool { isLowerHex(s, count: 16) }

    /// True for exactly 16 lower-case hex characters: the ids of marks (`marked`).
    public static func isValidMarkID(_ s: some StringProtocol) -> Bool { isLowerHex(s, count: 16) }

    /// True for exactly `count` characters of `0-9 a-f`.
    static func isLowerHex(_ s: some StringProtocol, count: Int) -> Bool {
        s.utf8.count == count && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
