import Testing
import WardenPostgres

@Test func placeholder() { #expect(Bool(true)) }
