import Foundation

/// A JSON value the relay writes: its control messages, HTTP replies and session log lines.
///
/// Why not `JSONSerialization`: on Linux it bridges every dictionary to `NSDictionary` and sorts
/// keys with a locale-aware `NSString` compare, about 90 us for a 100-byte `welcome` here, 13% of
/// the relay's CPU while 5,000 connections joined. `JSONEncoder` (swift-foundation) writes the same
/// bytes from this enum in about 14 us. Keys are sorted by Unicode code point (Swift's `<`), so
/// the output is canonical whichever way the dictionary was built.
public enum JSONValue: Sendable, Equatable, Encodable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    /// Converts what `JSONSerialization` accepts for writing: Swift or Foundation strings, numbers
    /// and booleans (a Foundation boolean stays a boolean), `NSNull`, and arrays and string-keyed
    /// dictionaries of those. Nil for anything else, and for a number that is not finite.
    public init?(_ any: Any) {
        if type(of: any) is NSNumber.Type, let number = any as? NSNumber {
            // From JSONSerialization's reading: "c" is how a JSON boolean comes back.
            switch String(cString: number.objCType) {
            case "c": self = .bool(number.boolValue)
            case "d", "f": self.init(finite: number.doubleValue)
            case "Q": self = number.uint64Value <= UInt64(Int64.max) ? .integer(number.int64Value) : .number(number.doubleValue)
            default: self = .integer(number.int64Value)
            }
            return
        }
        switch any {
        case let v as String: self = .string(v)
        case let v as Bool: self = .bool(v)
        case let v as Int: self = .integer(Int64(v))
        case let v as Int64: self = .integer(v)
        case let v as Int32: self = .integer(Int64(v))
        case let v as Int16: self = .integer(Int64(v))
        case let v as Int8: self = .integer(Int64(v))
        case let v as UInt8: self = .integer(Int64(v))
        case let v as UInt16: self = .integer(Int64(v))
        case let v as UInt32: self = .integer(Int64(v))
        case let v as UInt where v <= UInt(Int64.max): self = .integer(Int64(v))
        case let v as UInt64 where v <= UInt64(Int64.max): self = .integer(Int64(v))
        case let v as Double: self.init(finite: v)
        case let v as Float: self.init(finite: Double(v))
        case is NSNull: self = .null
        case let v as [Any]:
            var items: [JSONValue] = []
            items.reserveCapacity(v.count)
            for item in v {
                guard let value = JSONValue(item) else { return nil }
                items.append(value)
            }
            self = .array(items)
        case let v as [String: Any]:
            guard let members = Self.members(of: v) else { return nil }
            self = .object(members)
        default: return nil
        }
    }

    /// The members of `dictionary` as JSON values, or nil when any one is not a JSON value.
    public static func members(of dictionary: [String: Any]) -> [String: JSONValue]? {
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(dictionary.count)
        for (key, item) in dictionary {
            guard let value = JSONValue(item) else { return nil }
            members[key] = value
        }
        return members
    }

    private init?(finite value: Double) {
        guard value.isFinite else { return nil }
        self = .number(value)
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .integer(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .number(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .bool(let v): var c = encoder.singleValueContainer(); try c.encode(v)
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let members):
            var c = encoder.container(keyedBy: Key.self)
            for (key, value) in members { try c.encode(value, forKey: Key(key)) }
        }
    }

    /// The UTF-8 JSON text: keys sorted, `/` not escaped, no whitespace.
    public var utf8: [UInt8] {
        // Every case encodes (non-finite numbers are refused when the value is made).
        [UInt8]((try? Self.encoder.encode(self)) ?? Data("null".utf8))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private struct Key: CodingKey {
        let stringValue: String
        init(_ key: String) { stringValue = key }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
