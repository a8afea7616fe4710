#if canImport(Glibc)
import Glibc
#endif

/// What `doctor` reads of the installed unit: the `--config` of `ExecStart=` and the
/// `LoadCredential=NAME:PATH` pairs, with `%i` expanded for an instance of the template. Drop-ins
/// (`UNIT.d/*.conf`, and the template's for an instance) are read after the unit, as systemd does.
struct UnitFile: Equatable {
    var path: String
    var configPath: String?
    var credentials: [String: String]

    /// The unit of `options` in the first of its directories that has it, or nil.
    static func find(_ options: Doctor.Options) -> UnitFile? {
        var names = [options.unitName]
        if options.instance != nil { names.append("polaris-warden@.service") }
        for directory in options.unitDirectories {
            for name in names {
                let path = directory + "/" + name
                guard let contents = Self.text(ofFile: path) else { continue }
                var unit = parse(contents, path: path, instance: options.instance?.name)
                for dropIn in dropIns(options, names: names) {
                    if let extra = Self.text(ofFile: dropIn) {
                        unit.merge(parse(extra, path: dropIn, instance: options.instance?.name))
                    }
                }
                return unit
            }
        }
        return nil
    }

    static func dropIns(_ options: Doctor.Options, names: [String]) -> [String] {
        var files: [String] = []
        for directory in options.unitDirectories.reversed() {
            for name in names.reversed() {
                let dropInDirectory = directory + "/" + name + ".d"
                files += entries(of: dropInDirectory).filter { $0.hasSuffix(".conf") }.sorted().map {
                    dropInDirectory + "/" + $0
                }
            }
        }
        return files
    }

    /// The unit's `ExecStart=` `--config` argument and its `LoadCredential=` pairs.
    static func parse(_ text: String, path: String, instance: String?) -> UnitFile {
        var unit = UnitFile(path: path, configPath: nil, credentials: [:])
        for rawLine in text.split(separator: "\n") {
            var line = String(rawLine.drop(while: { $0 == " " || $0 == "\t" }))
            if let instance { line = line.replacing("%i", with: instance) }
            if line.hasPrefix("ExecStart=") {
                let words = line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
                if let index = words.firstIndex(of: "--config"), index + 1 < words.count {
                    unit.configPath = words[index + 1]
                } else if !words.isEmpty {
                    unit.configPath = nil
                }
            } else if line.hasPrefix("LoadCredential=") {
                let value = line.dropFirst("LoadCredential=".count)
                guard let colon = value.firstIndex(of: ":") else { continue }
                unit.credentials[String(value[..<colon])] = String(value[value.index(after: colon)...])
            }
        }
        return unit
    }

    static func text(ofFile path: String) -> String? {
        guard let bytes = try? readFile(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The names in `directory` (none when it does not exist).
    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A drop-in's settings on top: a non-empty `ExecStart=` replaces, credentials add up.
    mutating func merge(_ dropIn: UnitFile) {
        if let configPath = dropIn.configPath { self.configPath = configPath }
        credentials.merge(dropIn.credentials) { _, new in new }
    }
}
