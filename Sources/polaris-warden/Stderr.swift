#if canImport(Glibc)
import Glibc
#endif

func fwriteStandardError(_ buffer: UnsafeBufferPointer<UInt8>) -> Int {
    fwrite(buffer.baseAddress, 1, buffer.count, stderr)
}
