import CLibPQ
import CLibPQLoader

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value bound to a statement's `$n`, sent with its type (so the server never guesses it).
enum SQLValue {
    case text(String)
    case int64(Int64)
    /// Sent in binary: the bytes as they are.
    case bytes([UInt8])
}

/// One row of an answer: each column's bytes (text format, or binary when asked for), nil for
/// NULL.
struct Row {
    var columns: [[UInt8]?]

    func bytes(_ column: Int) -> [UInt8]? {
        column < columns.count ? columns[column] : nil
    }

    func text(_ column: Int) -> String? {
        bytes(column).map { String(decoding: $0, as: UTF8.self) }
    }

    func int64(_ column: Int) -> Int64? {
        text(column).flatMap { Int64($0) }
    }
}

/// Why a libpq call failed. Every message is libpq's or the server's text: never the connection
/// parameters (the password is one) nor a bound value.
enum LibPQError: Error, CustomStringConvertible {
    /// The deadline passed (connecting, sending or waiting for the answer).
    case timedOut
    /// Connecting failed. With an SQLSTATE when the server refused (authentication, no such
    /// database, starting up; `message` is its primary message), else libpq's own text
    /// (refused, unreachable, TLS). `needsPassword`: the server asked for a password and none
    /// was given (`PQconnectionNeedsPassword`).
    case connect(sqlState: String?, message: String, needsPassword: Bool)
    /// The server's error answer to a statement; the connection is still good.
    case server(sqlState: String, message: String)
    /// The connection failed or was lost while a statement ran.
    case connectionLost(String)
    /// libpq.so.5 could not be loaded (`CLibPQLoader`): libpq5 is not installed.
    case unavailable(String)

    var description: String {
        switch self {
        case .timedOut: "timed out"
        case .connect(let sqlState?, let message, _): "\(message) (SQLSTATE \(sqlState))"
        case .connect(nil, let message, _): message
        case .server(let sqlState, let message): "\(message) (SQLSTATE \(sqlState))"
        case .connectionLost(let message): message
        case .unavailable(let reason): "libpq cannot be loaded: \(reason)"
        }
    }
}

/// A libpq connection (`PGconn`), driven without ever blocking past a deadline: connecting
/// through `PQconnectStartParams` + `PQconnectPoll`, statements through `PQsendQueryParams`,
/// `PQflush`, `PQconsumeInput` and `PQgetResult`, waiting for the socket with `poll(2)` until
/// the call's deadline. Every method blocks its thread (up to the deadline), so it runs on a
/// thread of its own, never on Swift's cooperative pool (`ConnectionSlot`); and libpq
/// connections are not thread-safe, so one is only ever used by one thread at a time.
///
/// Not driven here: the host name's lookup (`getaddrinfo`, inside `PQconnectStartParams`),
/// which libpq does synchronously. A numeric address needs none; for a name the caller's own
/// deadline (`withDeadline`) still answers in time.
final class PQConnection {
    private var handle: OpaquePointer?

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        finish()
    }

    /// Closes the connection (libpq sends the server a Terminate without waiting for anything).
    func finish() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// Opens a connection with `parameters` by `deadline`.
    static func connect(
        _ parameters: ConnectionParameters, deadline: ContinuousClock.Instant
    ) throws(LibPQError) -> PQConnection {
        var loadError: UnsafePointer<CChar>?
        guard warden_libpq_load(&loadError) == 0 else {
            throw .unavailable(loadError.map { String(cString: $0) } ?? "dlopen failed")
        }
        let started = parameters.withKeywordsAndValues { keywords, values in
            // expand_dbname 0: the database name is a name, never parsed as a connection string.
            PQconnectStartParams(keywords, values, 0)
        }
        guard let handle = started else {
            throw .connect(sqlState: nil, message: "libpq could not allocate a connection", needsPassword: false)
        }
        // Closed by `deinit` on every path that throws.
        let connection = PQConnection(handle: handle)
        // The default processor prints the server's notices (`CREATE TABLE IF NOT EXISTS`:
        // "already exists, skipping") to stderr; none of them matters here.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        // The server's refusals while connecting reach us only as text: verbose puts their
        // SQLSTATE into it ("FATAL:  28P01: password authentication failed ...").
        PQsetErrorVerbosity(handle, PQERRORS_VERBOSE)
        guard PQstatus(handle) != CONNECTION_BAD else { throw connection.connectFailure() }
        // As if PQconnectPoll had answered WRITING (libpq's documentation).
        var polling = PGRES_POLLING_WRITING
        while polling != PGRES_POLLING_OK {
            switch polling {
            case PGRES_POLLING_FAILED:
                throw connection.connectFailure()
            case PGRES_POLLING_READING:
                try connection.wait(for: POLLIN, until: deadline)
            default:
                try connection.wait(for: POLLOUT, until: deadline)
            }
            polling = PQconnectPoll(handle)
        }
        // Sending never blocks: what does not fit in the socket waits for PQflush.
        guard PQsetnonblocking(handle, 1) == 0 else { throw connection.connectFailure() }
        return connection
    }

    /// Whether the connection is still open. Reads what the server sent meanwhile without
    /// waiting: a server that stopped or restarted (or ended this backend) has sent a FATAL and
    /// closed the socket, which libpq only notices when it reads. The first read takes the
    /// FATAL (parsed as a notice when idle), a second one meets the end of the stream and marks
    /// the connection bad; on a healthy connection both find nothing to read.
    var isOpen: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        guard PQconsumeInput(handle) == 1 else { return false }
        _ = PQisBusy(handle)
        return PQconsumeInput(handle) == 1 && PQstatus(handle) == CONNECTION_OK
    }

    /// Runs `sql` (one statement) with `parameters` as `$1`, `$2`, … and answers its rows, all
    /// by `deadline`. Results come in text format, or binary with `binaryResults`.
    func execute(
        _ sql: String, _ parameters: [SQLValue] = [], binaryResults: Bool = false,
        deadline: ContinuousClock.Instant
    ) throws(LibPQError) -> [Row] {
        guard let handle else { throw .connectionLost("the connection was closed") }
        let sent = Self.withParameters(parameters) { types, values, lengths, formats in
            PQsendQueryParams(
                handle, sql, Int32(parameters.count), types, values, lengths, formats, binaryResults ? 1 : 0)
        }
        guard sent == 1 else { throw lost() }
        // Until libpq's output buffer is in the socket; reading meanwhile (libpq's documentation:
        // the server may be waiting for us to read before it reads more).
        while true {
            let flushed = PQflush(handle)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost() }
            try wait(for: POLLIN | POLLOUT, until: deadline)
            guard PQconsumeInput(handle) == 1 else { throw lost() }
        }
        var rows: [Row] = []
        var failure: LibPQError?
        // Every result until NULL, so the connection is idle again afterwards.
        while true {
            while true {
                guard PQconsumeInput(handle) == 1 else { throw lost() }
                if PQisBusy(handle) == 0 { break }
                try wait(for: POLLIN, until: deadline)
            }
            guard let result = PQgetResult(handle) else { break }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_TUPLES_OK {
                rows += Self.rows(of: result)
            } else if status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY {
                failure = failure ?? Self.failure(of: result)
            }
        }
        if PQstatus(handle) == CONNECTION_BAD {
            // The server ended the connection (shutting down: "terminating connection due to
            // administrator command", 57P01) or the socket failed.
            throw .connectionLost(failure.map { "\($0)" } ?? oneLine(PQerrorMessage(handle)))
        }
        if let failure { throw failure }
        return rows
    }

    /// Waits until the socket is ready for `events` (or has an error or hang-up, which libpq
    /// finds out about at its next read or write), or throws `.timedOut` at `deadline`.
    private func wait(for events: Int32, until deadline: ContinuousClock.Instant) throws(LibPQError) {
        guard let handle else { throw .connectionLost("the connection was closed") }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw lost() }
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { throw .timedOut }
            var descriptor = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, Self.pollMilliseconds(remaining))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw .connectionLost("poll failed (errno \(errno))")
            }
        }
    }

    /// `remaining` in whole milliseconds, rounded up (a poll that wakes a little early would
    /// only poll again).
    private static func pollMilliseconds(_ remaining: Duration) -> Int32 {
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(1, milliseconds))
    }

    /// A failed connection attempt, from libpq's message (the server's refusal, with its
    /// SQLSTATE, when there is one).
    private func connectFailure() -> LibPQError {
        guard let handle else { return .connect(sqlState: nil, message: "no connection", needsPassword: false) }
        let message = PQerrorMessage(handle).map { String(cString: $0) } ?? ""
        let needsPassword = PQconnectionNeedsPassword(handle) == 1
        if let refusal = serverRefusal(in: message) {
            return .connect(sqlState: refusal.sqlState, message: refusal.message, needsPassword: needsPassword)
        }
        return .connect(
            sqlState: nil, message: oneLine(PQerrorMessage(handle)), needsPassword: needsPassword)
    }

    /// The connection failed under a statement: libpq's message.
    private func lost() -> LibPQError {
        guard let handle else { return .connectionLost("the connection was closed") }
        return .connectionLost(oneLine(PQerrorMessage(handle)))
    }

    /// An error result: the server's (SQLSTATE and primary message), or libpq's own (no
    /// SQLSTATE: the connection broke, an answer it could not read).
    private static func failure(of result: OpaquePointer) -> LibPQError {
        let field = { (code: Int32) -> String? in
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))  // PG_DIAG_SQLSTATE
        let primary = field(Int32(UInt8(ascii: "M")))  // PG_DIAG_MESSAGE_PRIMARY
        guard let sqlState else {
            return .connectionLost(primary ?? oneLine(PQresultErrorMessage(result)))
        }
        return .server(sqlState: sqlState, message: primary ?? "no message")
    }

    private static func rows(of result: OpaquePointer) -> [Row] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        guard rowCount > 0 else { return [] }
        return (0..<rowCount).map { row in
            Row(
                columns: (0..<columnCount).map { column -> [UInt8]? in
                    guard PQgetisnull(result, row, column) == 0 else { return nil }
                    let length = Int(PQgetlength(result, row, column))
                    guard length > 0, let value = PQgetvalue(result, row, column) else { return [] }
                    return Array(UnsafeRawBufferPointer(start: value, count: length))
                })
        }
    }

    /// `parameters` as PQsendQueryParams takes them: types (OIDs), values, lengths and formats.
    private static func withParameters<Result>(
        _ parameters: [SQLValue],
        _ body: (
            UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> Result
    ) -> Result {
        var types: [Oid] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var buffers: [UnsafeMutableBufferPointer<CChar>] = []
        defer { for buffer in buffers { buffer.deallocate() } }
        for parameter in parameters {
            let bytes: [UInt8]
            switch parameter {
            case .text(let text):
                types.append(25)  // text
                formats.append(0)
                bytes = Array(text.utf8) + [0]
            case .int64(let value):
                types.append(20)  // int8
                formats.append(0)
                bytes = Array("\(value)".utf8) + [0]
            case .bytes(let value):
                types.append(17)  // bytea
                formats.append(1)
                bytes = value
            }
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(1, bytes.count))
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            buffers.append(buffer)
            lengths.append(Int32(bytes.count))
        }
        let values: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0.baseAddress) }
        return types.withUnsafeBufferPointer { types in
            values.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }
}

/// The server's refusal in libpq's verbose connection error, e.g. `connection to server at
/// "db", port 5432 failed: FATAL:  28P01: password authentication failed for user "warden"`:
/// the SQLSTATE (five digits or capitals between ":  " and ": ") and the rest of that line.
func serverRefusal(in message: String) -> (sqlState: String, message: String)? {
    for line in message.split(separator: "\n") {
        let bytes = Array(line.utf8)
        var index = 0
        while index + 10 <= bytes.count {
            let candidate = bytes[(index + 3)..<(index + 8)]
            if bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: " "),
                bytes[index + 2] == UInt8(ascii: " "), bytes[index + 8] == UInt8(ascii: ":"),
                bytes[index + 9] == UInt8(ascii: " "),
                candidate.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) })
            {
                let rest = String(decoding: bytes[(index + 10)...], as: UTF8.self)
                return (String(decoding: candidate, as: UTF8.self), trimmed(rest))
            }
            index += 1
        }
    }
    return nil
}

/// libpq's (multi-line, tab-indented) message on one line.
private func oneLine(_ message: UnsafePointer<CChar>?) -> String {
    guard let message else { return "no message" }
    let lines = String(cString: message).split(separator: "\n").map { trimmed(String($0)) }.filter { !$0.isEmpty }
    return lines.isEmpty ? "no message" : lines.joined(separator: "; ")
}

private func trimmed(_ text: String) -> String {
    var text = Substring(text)
    while let first = text.first, first.isWhitespace { text.removeFirst() }
    while let last = text.last, last.isWhitespace { text.removeLast() }
    return String(text)
}
