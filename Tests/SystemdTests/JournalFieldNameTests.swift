import Testing

@testable import Systemd

@Suite struct JournalFieldNameTests {
    @Test(arguments: [
        ("polaris.job", "POLARIS_JOB"),
        ("POLARIS_JOB", "POLARIS_JOB"),
        ("warden.backoff-sec", "WARDEN_BACKOFF_SEC"),
        ("-x", "X__X"),
        ("1abc", "X_1ABC"),
        ("_SYSTEMD_UNIT", "X__SYSTEMD_UNIT"),
        ("_pid", "X__PID"),
        ("UNIT", "META_UNIT"),
        ("unit", "META_UNIT"),
        ("USER_UNIT", "META_USER_UNIT"),
        ("MESSAGE", "META_MESSAGE"),
        ("message", "META_MESSAGE"),
        ("message_id", "META_MESSAGE_ID"),
        ("priority", "META_PRIORITY"),
        ("SYSLOG_IDENTIFIER", "META_SYSLOG_IDENTIFIER"),
        ("code.file", "META_CODE_FILE"),
        ("CODE_LINE", "META_CODE_LINE"),
        ("object_systemd_unit", "META_OBJECT_SYSTEMD_UNIT"),
        ("invocation_id", "META_INVOCATION_ID"),
        ("jöb naïve", "J_B_NA_VE"),
        ("ключ", "X_____"),
        ("🚀", "X__"),
        ("", "X_"),
        ("a b\tc\nd", "A_B_C_D"),
        ("event", "EVENT"),
    ])
    func escapes(key: String, expected: String) {
        let escaped = JournalFieldName.escape(key)
        #expect(escaped == expected)
        #expect(JournalFieldName.isValid(escaped), "\(escaped) must be a valid client field name")
        #expect(!JournalFieldName.isReserved(escaped), "\(escaped) must not be reserved")
    }

    @Test func longKeysAreCutTo64Bytes() {
        let key = String(repeating: "k", count: 100)
        let escaped = JournalFieldName.escape(key)
        #expect(escaped == String(repeating: "K", count: 64))
        #expect(JournalFieldName.isValid(escaped))

        let prefixed = JournalFieldName.escape("_" + String(repeating: "z", count: 99))
        #expect(prefixed.utf8.count == 64)
        #expect(prefixed.hasPrefix("X__Z"))

        let unicode = JournalFieldName.escape(String(repeating: "é", count: 100))
        #expect(unicode.utf8.count == 64)
        #expect(JournalFieldName.isValid(unicode))
    }

    @Test func validity() {
        #expect(JournalFieldName.isValid("POLARIS_JOB"))
        #expect(!JournalFieldName.isValid("polaris_job"))
        #expect(!JournalFieldName.isValid("_PID"))
        #expect(!JournalFieldName.isValid("1X"))
        #expect(!JournalFieldName.isValid(""))
        #expect(!JournalFieldName.isValid(String(repeating: "A", count: 65)))
    }
}
