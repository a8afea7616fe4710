#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Polaris docs' own sample exchange, read from the page "Ingest data from Amazon Kinesis by
/// API" as vendored verbatim in `docs/polaris/ingest-kinesis-by-api.txt`
/// (docs/polaris/api-reference.md §0.1), so the tests compare with the page itself, not a copy.
/// `connectionRequest` is the cURL `--data-raw` of "Create a connection to Amazon Kinesis",
/// `jobRequest` the cURL `--data` of "Start an ingestion job", and `jobResponse` the sample
/// response below it ("A successful request returns a 201 Created response …"), the one exact
/// picture of what the live service sends back.
enum LiveSample {
    static let page: String = {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/polaris/ingest-kinesis-by-api.txt").path
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }()

    static let connectionRequest = curlBody(after: "--data-raw '")
    static let jobRequest = curlBody(after: "--data '")
    static let jobResponse = jsonObject(after: "Click to view the response")

    /// The body of the first cURL command with `marker`: from the marker to the `}'` that ends it.
    static func curlBody(after marker: String) -> String {
        guard let start = page.range(of: marker) else { fatalError("no \(marker) in the docs page") }
        guard let end = page.range(of: "}'", range: start.upperBound..<page.endIndex) else {
            fatalError("no end of the body after \(marker)")
        }
        return String(page[start.upperBound..<end.lowerBound]) + "}"
    }

    /// The first balanced JSON object after `marker` (braces inside strings ignored).
    static func jsonObject(after marker: String) -> String {
        guard let start = page.range(of: marker), let open = page[start.upperBound...].firstIndex(of: "{") else {
            fatalError("no JSON object after \(marker) in the docs page")
        }
        var depth = 0
        var inString = false
        var escaped = false
        var index = open
        while index < page.endIndex {
            let character = page[index]
            if inString {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
            } else if character == "{" {
                depth += 1
            } else if character == "}" {
                depth -= 1
                if depth == 0 { return String(page[open...index]) }
            }
            index = page.index(after: index)
        }
        fatalError("unbalanced JSON object after \(marker)")
    }
}
