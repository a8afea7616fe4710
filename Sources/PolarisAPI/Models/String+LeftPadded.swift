extension String {
    /// `self` with leading zeros up to `width` characters (timestamps, percent-encoding). Lives
    /// beside the models so the fuzz build, which compiles `Models/` alone, has it too.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
