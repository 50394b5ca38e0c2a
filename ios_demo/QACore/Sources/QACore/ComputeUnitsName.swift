import Foundation

/// Core ML compute-unit choices under the names the results JSON uses (CONTRACTS.md §7).
/// The app maps them to `MLComputeUnits`; parsing lives here so `-computeUnits` can be tested on Linux.
public enum ComputeUnitsName: String, CaseIterable, Sendable, Codable {
    case all
    case cpuAndNeuralEngine = "cpu_and_ne"
    case cpuAndGPU = "cpu_and_gpu"
    case cpuOnly = "cpu_only"

    public var label: String {
        switch self {
        case .all: return "All"
        case .cpuAndNeuralEngine: return "CPU + Neural Engine"
        case .cpuAndGPU: return "CPU + GPU"
        case .cpuOnly: return "CPU only"
        }
    }

    /// "all,cpu_only" -> [.all, .cpuOnly]; nil or "" -> every choice; an unknown name is an error naming it.
    public static func parseList(_ text: String?) throws -> [ComputeUnitsName] {
        guard let text, !text.isEmpty else { return allCases }
        return try text.split(separator: ",").map { part in
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let unit = ComputeUnitsName(rawValue: name) else { throw UnknownComputeUnits(name: name) }
            return unit
        }
    }

    public struct UnknownComputeUnits: Error, Equatable, CustomStringConvertible {
        public let name: String
        public var description: String {
            "Unknown compute units \(name); use " + ComputeUnitsName.allCases.map(\.rawValue).joined(separator: ", ")
        }
    }
}
