#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One member where a job's live spec differs from the desired one, as an operator reads it:
/// `spec.mappings[columnName=__time].expression: desired "TIME_PARSE(\"ts\")", live "…"`.
public struct SpecDifference: Codable, Hashable, Sendable, CustomStringConvertible {
    /// A JSON path from `spec`: members with `.`, positions as `[2]`, named elements as
    /// `[columnName=__time]`.
    public var path: String
    /// The desired value; nil when the desired spec does not have the member.
    public var desired: JSONValue?
    /// The live value; nil when the live spec does not have the member.
    public var live: JSONValue?

    public init(path: String, desired: JSONValue?, live: JSONValue?) {
        self.path = path
        self.desired = desired
        self.live = live
    }

    public var description: String {
        "\(path): desired \(desired.map(\.compactJSON) ?? "absent"), live \(live.map(\.compactJSON) ?? "absent")"
    }
}

/// What counts as spec drift: the one comparison of a desired job spec (the config's request
/// body) with the spec a live job echoes. Pure; `docs/configuration.md` ("What counts as
/// drift") describes the same rules for operators.
///
/// The live service echoes a spec with members it fills in (the docs' sample response,
/// `Tests/PolarisEmulatorTests/Fixtures`: `isAggregation: null` in every mapping,
/// `flattenSpec: {}`, `dimensionExclusions: []`, `filterExpression: null`,
/// `target.intervals: []`, `replaceRunning: false`, `desiredExecutionStatus`, and defaults such
/// as `readFromPoint`). None of that is drift. The rules:
/// - objects compare by member, and only the members the desired spec sets;
/// - `null` and absent are the same, and so are an empty `[]`/`{}` and absent;
/// - numbers compare by value (`5` equals `5.0`);
/// - arrays compare element by element (same length, each desired element satisfied by the
///   live one), except arrays of named objects (every element an object with a distinct
///   `columnName`, or else `name`: `mappings`, `inputSchema`, `flattenSpec.fields`), which
///   compare by name: order does not matter, a missing or an extra name is drift;
/// - `replaceRunning` and `desiredExecutionStatus` are create-time and lifecycle members of
///   the request, not part of what the job does: never compared.
public enum SpecDrift {
    /// Top-level request members that are not part of the job's identity.
    public static let ignoredMembers: Set<String> = ["replaceRunning", "desiredExecutionStatus"]

    /// Member names that identify an element of an array of objects, in order of preference.
    public static let elementKeys = ["columnName", "name"]

    /// Every member where `live` does not satisfy `desired`, in path order; empty = no drift.
    public static func differences(desired: JobSpec, live: JobSpec) -> [SpecDifference] {
        var found: [SpecDifference] = []
        for key in desired.fields.keys.sorted() where !ignoredMembers.contains(key) {
            compare(desired.fields[key], live.fields[key], path: "spec." + key, into: &found)
        }
        return found
    }

    /// Compares one desired value with its live counterpart (nil = absent).
    static func compare(_ desired: JSONValue?, _ live: JSONValue?, path: String, into found: inout [SpecDifference]) {
        guard let desired, desired != .null else { return }
        let live = live == .null ? nil : live
        switch desired {
        case .object(let members):
            if members.isEmpty, live == nil { return }
            guard case .object(let liveMembers) = live ?? .object([:]) else {
                found.append(SpecDifference(path: path, desired: desired, live: live))
                return
            }
            for key in members.keys.sorted() {
                compare(members[key], liveMembers[key], path: path + "." + key, into: &found)
            }
        case .array(let elements):
            if elements.isEmpty, live == nil { return }
            guard case .array(let liveElements)? = live else {
                found.append(SpecDifference(path: path, desired: desired, live: live))
                return
            }
            if let key = elementKey(elements, liveElements) {
                compareNamed(elements, liveElements, key: key, path: path, into: &found)
            } else if elements.count != liveElements.count {
                found.append(SpecDifference(path: path, desired: desired, live: live))
            } else {
                for index in elements.indices {
                    compare(elements[index], liveElements[index], path: "\(path)[\(index)]", into: &found)
                }
            }
        case .int, .double:
            if live?.doubleValue != desired.doubleValue {
                found.append(SpecDifference(path: path, desired: desired, live: live))
            }
        case .null, .bool, .string:
            if live != desired { found.append(SpecDifference(path: path, desired: desired, live: live)) }
        }
    }

    /// The member that names every element of both arrays uniquely, if there is one.
    static func elementKey(_ desired: [JSONValue], _ live: [JSONValue]) -> String? {
        guard !desired.isEmpty else { return nil }
        return elementKeys.first { key in
            func uniquelyNamed(_ elements: [JSONValue]) -> Bool {
                var seen: Set<String> = []
                for element in elements {
                    guard let name = element[key]?.stringValue, seen.insert(name).inserted else { return false }
                }
                return true
            }
            return uniquelyNamed(desired) && uniquelyNamed(live)
        }
    }

    static func compareNamed(
        _ desired: [JSONValue], _ live: [JSONValue], key: String, path: String, into found: inout [SpecDifference]
    ) {
        var liveByName: [String: JSONValue] = [:]
        for element in live { if let name = element[key]?.stringValue { liveByName[name] = element } }
        var desiredNames: Set<String> = []
        for element in desired {
            guard let name = element[key]?.stringValue else { continue }
            desiredNames.insert(name)
            let elementPath = "\(path)[\(key)=\(name)]"
            guard let counterpart = liveByName[name] else {
                found.append(SpecDifference(path: elementPath, desired: element, live: nil))
                continue
            }
            compare(element, counterpart, path: elementPath, into: &found)
        }
        for element in live {
            guard let name = element[key]?.stringValue, !desiredNames.contains(name) else { continue }
            found.append(SpecDifference(path: "\(path)[\(key)=\(name)]", desired: nil, live: element))
        }
    }
}

extension JSONValue {
    /// One-line JSON text with sorted keys, for messages (`{"a":1}`, `"text"`, `null`).
    public var compactJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "\(self)" }
        return String(decoding: data, as: UTF8.self)
    }
}
