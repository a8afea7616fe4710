// libFuzzer target: the hand-written `GET /jobs` page scanner (`JobListDecoder`), differential
// against `JSONDecoder` (its documented reference): whatever the scanner accepts, JSONDecoder
// must accept too and decode to the same `JobList`. Built by fuzz/run.sh (target `joblist`)
// when Sources/PolarisAPI/Models/JobListDecoder.swift exists.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobList(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let fast = JobListDecoder.decode(bytes) else { return 0 }
    guard let reference = try? JSONDecoder().decode(JobList.self, from: Data(bytes)) else {
        fatalError("JobListDecoder accepted a page JSONDecoder rejects")
    }
    precondition(fast == reference, "JobListDecoder and JSONDecoder disagree")
    return 0
}
