// WardenPlatform: the platform edges every other module touches, each behind one small type.
//
// - Time: one clock protocol, injected everywhere (production: the system clock; tests: a
//   manual clock they advance), so no test sleeps to make time pass.
// - Files: one way to read a file and to replace one atomically (write, fsync, rename), over
//   swift-system's `FileDescriptor`.
