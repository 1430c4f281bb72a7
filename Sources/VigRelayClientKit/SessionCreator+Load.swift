import Foundation

extension SessionCreator {
    /// What one `POST /v1/sessions` of `load` came to: the session, or the pair's failure with a
    /// stable code (the relay's code when it named one). `waitedNanoseconds` is how long the request
    /// had been out: lws gives up after 10 s without an answer and reports a closed connection, which
    /// is a timeout, not a refused connection. Pure.
    static func loadOutcome(_ result: Result<HTTPReply, ClientError>, waitedNanoseconds: UInt64) -> Result<CreatedSession, LoadFailure> {
        switch result {
        case .failure(let error):
            if waitedNanoseconds >= 9_500_000_000, case .unreachable = error {
                return .failure(.client(.timeout, "no answer to POST /v1/sessions within 10 s (\(error))"))
            }
            return .failure(.connectFailed(error))
        case .success(let reply) where reply.status == 201:
            do throws(ClientError) {
                return .success(try read(reply))
            } catch {
                return .failure(.client(.createFailed, error.description))
            }
        case .success(let reply):
            let body = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any]
            let message = body?["message"] as? String ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
            if let code = body?["code"] as? String {
                return .failure(.relay(code, "POST /v1/sessions: HTTP \(reply.status): \(message)"))
            }
            return .failure(.client(.createFailed, "POST /v1/sessions: HTTP \(reply.status): \(message)"))
        }
    }
}
