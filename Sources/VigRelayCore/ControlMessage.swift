import Foundation

/// An `id` a client put on a request; echoed unchanged on the reply or error.
public enum MessageID: Sendable, Equatable {
    case string(String)
    case number(Double)

    init?(json: Any?) {
        switch json {
        case let s as String: self = .string(s)
        case let n as NSNumber where String(cString: n.objCType) != "c": self = .number(n.doubleValue)  // "c": a JSON boolean
        default: return nil
        }
    }

    var jsonValue: Any {
        switch self {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? Int64(n) as Any : n as Any
        }
    }
}

/// A JSON control message received as a WebSocket text frame, decoded but not yet judged.
///
/// Owned by whoever decoded it (the lws thread); not Sendable because it holds the parsed JSON object.
public struct ControlMessage {
    /// The `type` field.
    public let type: String
    /// The optional `id` to echo.
    public let id: MessageID?
    /// Every field of the object, for type-specific readers.
    public let fields: [String: Any]

    /// Why a text frame is not a control message.
    public enum DecodeError: Error, Equatable {
        /// Not UTF-8 JSON, or not an object.
        case invalidJSON
        /// A JSON object without a string `type`.
        case missingType(id: MessageID?)
    }

    /// Decodes one text frame.
    public static func decode(_ bytes: [UInt8]) -> Result<ControlMessage, DecodeError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: []),
              let dict = object as? [String: Any]
        else { return .failure(.invalidJSON) }
        let id = MessageID(json: dict["id"])
        guard let type = dict["type"] as? String else { return .failure(.missingType(id: id)) }
        return .success(ControlMessage(type: type, id: id, fields: dict))
    }

    /// A string field, or nil when absent or of another type.
    public func string(_ key: String) -> String? { fields[key] as? String }

    /// A JSON `true` or `false`, or nil (absent, or a number: Foundation would read 1 as true).
    public func bool(_ key: String) -> Bool? { Self.isBoolean(fields[key]) ? fields[key] as? Bool : nil }

    /// A whole number, or nil (absent, another type, or a boolean: Foundation would read true as 1).
    public func wholeNumber(_ key: String) -> Int? { Self.isBoolean(fields[key]) ? nil : fields[key] as? Int }

    /// Whether `JSONSerialization` read this value from a JSON boolean ("c" is how it comes back).
    private static func isBoolean(_ value: Any?) -> Bool {
        (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
    }
}

/// Encodes the relay's own JSON messages (welcome, peer, error...) as UTF-8 bytes.
public enum ControlEncoder {
    /// Serialises an object with sorted keys (see `JSONValue`); the relay only builds objects that
    /// serialise.
    public static func encode(_ object: [String: Any], id: MessageID? = nil) -> [UInt8] {
        var object = object
        if let id { object["id"] = id.jsonValue }
        guard let members = JSONValue.members(of: object) else { return Array("{}".utf8) }
        return JSONValue.object(members).utf8
    }

    /// `{"type":"error","code":...,"message":...}`.
    public static func error(_ code: RelayErrorCode, _ message: String, id: MessageID? = nil) -> [UInt8] {
        encode(["type": "error", "code": code.rawValue, "message": message], id: id)
    }
}
