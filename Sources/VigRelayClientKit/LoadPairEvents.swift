import VigRelayCore

/// What the lws threads saw of one `LoadPair`, waiting for its driver: connections opened and
/// welcomed, how they ended, the relay's answers about consent and recording, its errors. Pure value,
/// kept under the pair's lock.
struct LoadPairEvents {
    var created: UInt64?
    var opened: [Role: UInt64] = [:]
    var welcomed: [Role: UInt64] = [:]
    /// How each side ended: nil failure for a normal close (1000).
    var ended: [Role: LoadFailure?] = [:]
    var consentConfirmed = false
    var recordingStarted: String?
    var recordingStopped: RecordingSummary?
    var recordingFailed = false
    /// `error` messages from the relay not yet taken by the driver.
    var relayErrors: [LoadFailure] = []
}
