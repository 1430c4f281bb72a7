/// Server-generated ids and the checks every id from a request goes through before use.
///
/// Ids reach file paths later (sessions/{id}/...), so the alphabet is closed: lower-case hex only.
public enum Identifiers {
    /// A new random session id: 128 bits as 32 lower-case hex characters.
    public static func newSessionID() -> String { randomHex(bytes: 16) }

    /// Random lower-case hex from the system's cryptographic generator.
    public static func randomHex(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255, using: &rng)
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return out
    }

    /// True for exactly 32 lower-case hex characters.
    public static func isValidSessionID(_ s: some StringProtocol) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Practitioner ids are chosen by operators: 1-64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    public static func isValidPractitionerID(_ s: String) -> Bool {
        isSafeName(s, maxLength: 64)
    }

    /// 1...maxLength characters of `A-Z a-z 0-9 . _ -`, the first a letter or digit.
    public static func isSafeName(_ s: String, maxLength: Int) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= maxLength else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        return alnum(u[0]) && u.allSatisfy { alnum($0) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d }
    }
}
