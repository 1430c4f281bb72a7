/// An `{"type":"error"}` the relay sent before it refused or closed a connection: its stable code,
/// and its message for people (which says what to do).
public struct RelayError: Sendable, Equatable {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
