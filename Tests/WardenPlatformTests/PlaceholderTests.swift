import Testing

@testable import WardenPlatform
