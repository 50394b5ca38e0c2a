import Foundation

/// The app benchmark JSON that `pocketbert bench import` reads (CONTRACTS.md §7).
/// Optional values are written as explicit `null`s, as the contract shows them.
public struct AppBenchmarkResults: Sendable, Equatable, Codable {
    public static let formatVersion = 1

    public var formatVersion: Int
    public var app: String
    public var device: Device
    public var runs: [Run]

    public init(app: String = "ios_demo", device: Device, runs: [Run]) {
        formatVersion = Self.formatVersion
        self.app = app
        self.device = device
        self.runs = runs
    }

    public struct Device: Sendable, Equatable, Codable {
        /// Hardware identifier (utsname machine), e.g. "iPhone15,2".
        public var model: String
        public var name: String
        /// e.g. "iOS 17.4".
        public var os: String
        public var soc: String?
        public var cores: Int?
        public var memoryBytes: Int64?

        public init(model: String, name: String, os: String, soc: String? = nil, cores: Int? = nil,
                    memoryBytes: Int64? = nil) {
            self.model = model
            self.name = name
            self.os = os
            self.soc = soc
            self.cores = cores
            self.memoryBytes = memoryBytes
        }

        enum CodingKeys: String, CodingKey {
            case model, name, os, soc, cores
            case memoryBytes = "memory_bytes"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(name, forKey: .name)
            try c.encode(os, forKey: .os)
            try c.encode(soc, forKey: .soc)
            try c.encode(cores, forKey: .cores)
            try c.encode(memoryBytes, forKey: .memoryBytes)
        }
    }

    public struct Run: Sendable, Equatable, Codable {
        public var model: String
        public var artifactSha256: String?
        public var task: String
        public var precision: String
        public var seqLen: Int
        /// "coreml" for this app.
        public var runtime: String
        public var runtimeVersion: String?
        /// all | cpu_and_ne | cpu_and_gpu | cpu_only
        public var computeUnits: String?
        public var delegate: String?
        public var threads: Int?
        public var initMs: Double?
        public var firstInferenceMs: Double?
        public var latenciesMs: [Double]
        public var peakMemoryBytes: Int64?
        public var modelSizeBytes: Int64?

        public init(model: String, artifactSha256: String?, task: String, precision: String, seqLen: Int,
                    runtime: String = "coreml", runtimeVersion: String? = nil, computeUnits: String?,
                    delegate: String? = nil, threads: Int? = nil, initMs: Double?, firstInferenceMs: Double?,
                    latenciesMs: [Double], peakMemoryBytes: Int64?, modelSizeBytes: Int64?) {
            self.model = model
            self.artifactSha256 = artifactSha256
            self.task = task
            self.precision = precision
            self.seqLen = seqLen
            self.runtime = runtime
            self.runtimeVersion = runtimeVersion
            self.computeUnits = computeUnits
            self.delegate = delegate
            self.threads = threads
            self.initMs = initMs
            self.firstInferenceMs = firstInferenceMs
            self.latenciesMs = latenciesMs
            self.peakMemoryBytes = peakMemoryBytes
            self.modelSizeBytes = modelSizeBytes
        }

        enum CodingKeys: String, CodingKey {
            case model, task, precision, runtime, delegate, threads
            case artifactSha256 = "artifact_sha256"
            case seqLen = "seq_len"
            case runtimeVersion = "runtime_version"
            case computeUnits = "compute_units"
            case initMs = "init_ms"
            case firstInferenceMs = "first_inference_ms"
            case latenciesMs = "latencies_ms"
            case peakMemoryBytes = "peak_memory_bytes"
            case modelSizeBytes = "model_size_bytes"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(artifactSha256, forKey: .artifactSha256)
            try c.encode(task, forKey: .task)
            try c.encode(precision, forKey: .precision)
            try c.encode(seqLen, forKey: .seqLen)
            try c.encode(runtime, forKey: .runtime)
            try c.encode(runtimeVersion, forKey: .runtimeVersion)
            try c.encode(computeUnits, forKey: .computeUnits)
            try c.encode(delegate, forKey: .delegate)
            try c.encode(threads, forKey: .threads)
            try c.encode(initMs, forKey: .initMs)
            try c.encode(firstInferenceMs, forKey: .firstInferenceMs)
            try c.encode(latenciesMs, forKey: .latenciesMs)
            try c.encode(peakMemoryBytes, forKey: .peakMemoryBytes)
            try c.encode(modelSizeBytes, forKey: .modelSizeBytes)
        }

        /// min / p50 / p90 / mean of `latenciesMs`, for the benchmark screen.
        public var summary: LatencySummary? { LatencySummary(latenciesMs) }
    }

    enum CodingKeys: String, CodingKey {
        case app, device, runs
        case formatVersion = "pocketbert_app_results"
    }

    /// Pretty, key-sorted JSON: the file the user copies off the phone.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> AppBenchmarkResults {
        try JSONDecoder().decode(AppBenchmarkResults.self, from: data)
    }
}

/// Order statistics of a latency sample; percentiles interpolate linearly between ranks, as numpy.percentile
/// does, so the app shows the numbers `pocketbert report` computes from the same latencies.
public struct LatencySummary: Sendable, Equatable {
    public var min: Double
    public var p50: Double
    public var p90: Double
    public var mean: Double
    public var max: Double
    public var runs: Int

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func quantile(_ q: Double) -> Double {
            let pos = Double(sorted.count - 1) * q
            let lo = Int(pos.rounded(.down))
            let hi = Swift.min(lo + 1, sorted.count - 1)
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
        }
        min = sorted[0]
        max = sorted[sorted.count - 1]
        p50 = quantile(0.5)
        p90 = quantile(0.9)
        mean = values.reduce(0, +) / Double(values.count)
        runs = values.count
    }
}
