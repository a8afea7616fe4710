import PolarisAPI
import Testing

@testable import PolarisEmulator

@Suite("Emulator logic without I/O")
struct PureLogicTests {
    @Test func faultBookAppliesDelaysAndFirstTerminalAndCounts() {
        var book = FaultBook()
        book.add(.delay(.milliseconds(10), count: 2))
        book.add(.status(503, count: 1, pathPrefix: "/jobs"))
        book.add(.drop(count: 1))
        let first = book.take(method: "GET", path: "/v1/projects/p/jobs", projectPath: "/jobs")
        #expect(first.delay == .milliseconds(10))
        #expect(first.terminal == .respond(status: 503, retryAfter: nil, body: nil))
        let second = book.take(method: "GET", path: "/v1/projects/p/jobs", projectPath: "/jobs")
        #expect(second.terminal == .drop)
        let third = book.take(method: "GET", path: "/v1/projects/p/jobs", projectPath: "/jobs")
        #expect(third == FaultBook.Decision())
        #expect(book.armed.isEmpty)
    }

    @Test func faultMatching() {
        let fault = InjectedFault.status(500, method: "post", pathPrefix: "/jobs", pathPattern: "status$")
        #expect(fault.matches(method: "POST", path: "/v1/projects/p/jobs/1/status", projectPath: "/jobs/1/status"))
        #expect(!fault.matches(method: "GET", path: "/v1/projects/p/jobs/1/status", projectPath: "/jobs/1/status"))
        #expect(!fault.matches(method: "POST", path: "/v1/projects/p/jobs/1/reset", projectPath: "/jobs/1/reset"))
        let absolute = InjectedFault.drop(pathPrefix: "/_emulator/oauth")
        #expect(absolute.matches(method: "POST", path: "/_emulator/oauth/token", projectPath: nil))
        #expect(throws: EmulatorError.self) { try InjectedFault.drop(pathPattern: "([").validate() }
    }

    @Test func credentials() {
        #expect(Credentials(authorization: "Basic cG9rXz8/Pj5+fjo=", apiKey: "pok_??>>~~") == .apiKey)
        #expect(Credentials(authorization: "Basic cG9rXz8_Pj5-fjo", apiKey: "pok_??>>~~") == .apiKey)
        #expect(Credentials(authorization: "Basic pok_??>>~~", apiKey: "pok_??>>~~") == .apiKey)
        #expect(Credentials(authorization: "Bearer abc", apiKey: "k") == .bearer("abc"))
        if case .rejected = Credentials(authorization: nil, apiKey: "k") {} else { Issue.record("nil accepted") }
        if case .rejected = Credentials(authorization: "Basic a2s6", apiKey: "k") {
        } else {
            Issue.record("kk accepted")
        }
        #expect(Credentials.decodeBase64("YQ=a") == nil)
    }

    @Test func jsonWriterEscapesAndSortsKeys() {
        let value = JSONValue.object([
            "b": .array([.int(2_147_483_647), .double(0.5), .null, .bool(true)]), "a": .string("q\"\\\n\u{1}é"),
        ])
        #expect(JSONWriter.string(value) == #"{"a":"q\"\\\n\u0001é","b":[2147483647,0.5,null,true]}"#)
    }

    @Test func listQueryParsing() throws {
        let query = try JobListQuery(pairs: [
            ("healthStatus", "warning"), ("sortOrder", "asc"), ("paginationLimit", "5"), ("unknown", "x"),
        ])
        #expect(query.healthStatuses == ["warn"] && query.ascending && query.limit == 5)
        #expect(throws: EmulatorError.self) { try JobListQuery(pairs: [("paginationOffset", "-1")]) }
    }
}
