import Foundation
#if canImport(Darwin)
import Darwin
#endif
import QACore

/// Facts about the phone for the results JSON (CONTRACTS.md §7).
enum DeviceInfo {
    /// Hardware model identifier (e.g. "iPhone15,2") from sysctl `hw.machine`; the simulated model on a
    /// simulator. (`UIDevice.current.name` says only "iPhone" from iOS 16 on, so it identifies nothing.)
    static var machine: String {
        if let simulated = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"] { return simulated }
        #if canImport(Darwin)
        var size = 0
        if sysctlbyname("hw.machine", nil, &size, nil, 0) == 0, size > 0 {
            var bytes = [CChar](repeating: 0, count: size)
            if sysctlbyname("hw.machine", &bytes, &size, nil, 0) == 0 {
                return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        #endif
        var info = utsname()
        uname(&info)
        return withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// UserDefaults key of the user's name for this phone (Benchmark tab), written to the results' `device.name`.
    static let labelKey = "deviceLabel"

    /// The user's label for this phone, or the model identifier until one is set.
    static var label: String {
        let saved = UserDefaults.standard.string(forKey: labelKey)?.trimmingCharacters(in: .whitespaces) ?? ""
        return saved.isEmpty ? machine : saved
    }

    /// "iOS 17.4.1".
    static var osVersion: String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "iOS \(v.majorVersion).\(v.minorVersion)" + (v.patchVersion > 0 ? ".\(v.patchVersion)" : "")
    }

    static func device(name: String) -> AppBenchmarkResults.Device {
        AppBenchmarkResults.Device(model: machine, name: name, os: osVersion, soc: nil,
                                   cores: ProcessInfo.processInfo.processorCount,
                                   memoryBytes: Int64(ProcessInfo.processInfo.physicalMemory))
    }

    /// The memory the OS charges this app for (task_vm_info.phys_footprint, what Xcode's gauge shows).
    static func physicalFootprint() -> Int64? {
        #if canImport(Darwin)
        var info = task_vm_info_data_t()
        var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<integer_t>.size)
        let result = withUnsafeMutablePointer(to: &info) { pointer in
            pointer.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), $0, &count)
            }
        }
        return result == KERN_SUCCESS ? Int64(info.phys_footprint) : nil
        #else
        return nil
        #endif
    }
}
