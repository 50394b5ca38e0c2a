import Foundation
#if canImport(Darwin)
import Darwin
#endif
import QACore

/// Facts about the phone for the results JSON (CONTRACTS.md §7).
enum DeviceInfo {
    /// Hardware identifier from utsname (e.g. "iPhone15,2"); the simulated model on a simulator.
    static var machine: String {
        if let simulated = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"] { return simulated }
        var info = utsname()
        uname(&info)
        return withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
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
