#if canImport(Glibc)
import Glibc
#endif

/// Writes to file descriptor 2 directly (no shared `FILE*`, nothing to flush).
func fwriteStandardError(_ buffer: UnsafeBufferPointer<UInt8>) -> Int {
    write(STDERR_FILENO, buffer.baseAddress, buffer.count)
}
