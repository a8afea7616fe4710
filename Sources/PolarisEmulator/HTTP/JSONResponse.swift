import Hummingbird
import PolarisAPI

/// Builds responses. Every JSON answer carries `Content-Type: application/json` because the
/// official SDK refuses to deserialize without it (docs/polaris/api-reference.md §4.10).
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ body: JSONValue, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: JSONWriter.buffer(body)))
    }

    /// A 200 with no body: what connection delete/test and job reset answer ("no model"; the
    /// SDK treats a 204 as an error).
    static func emptyOK() -> Response {
        Response(status: .ok, headers: [.contentLength: "0"], body: ResponseBody())
    }
}
