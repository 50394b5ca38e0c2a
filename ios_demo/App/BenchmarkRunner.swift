#if canImport(CoreML)
import Foundation
import QACore

/// Timed predictions per artifact x compute units x sequence length, written as the JSON that
/// `pocketbert bench import` reads (CONTRACTS.md §7).
struct BenchmarkRunner: Sendable {
    static let question = "Where did Tesla work when he arrived in the United States?"
    static let passage = """
        Tesla was born in 1856 in Smiljan, in the Austrian Empire. He studied engineering and physics in the 1870s \
        without receiving a degree. In 1884 he emigrated to the United States, where he worked for a short time at \
        the Edison Machine Works in New York City before he struck out on his own. With the help of partners he set \
        up laboratories and companies in New York to develop a range of electrical devices. His alternating current \
        induction motor and related patents were licensed by George Westinghouse, earning Tesla a considerable \
        amount of money. After 1900 he tried to build a wireless power station at Wardenclyffe, which failed.
        """

    let runs: Int
    let computeUnits: [ComputeUnitsName]

    /// Runs everything, calling `progress` with one line per finished measurement.
    func run(artifacts: [Artifact], deviceName: String,
             progress: @Sendable (String) -> Void) async -> (AppBenchmarkResults, [String]) {
        var results: [AppBenchmarkResults.Run] = []
        var failures: [String] = []
        for artifact in artifacts {
            for units in computeUnits {
                do {
                    let model = try await CoreMLQAModel.load(artifactDir: artifact.directory, manifest: artifact.manifest,
                                                             computeUnits: units)
                    for seqLen in model.sequenceLengths {
                        let run = try measure(artifact: artifact, model: model, seqLen: seqLen)
                        results.append(run)
                        let p50 = run.summary.map { String(format: "%.2f", $0.p50) } ?? "-"
                        progress("\(artifact.name) \(units.rawValue) S=\(seqLen): p50 \(p50) ms over \(runs) runs")
                    }
                } catch {
                    failures.append("\(artifact.name) \(units.rawValue): \(error)")
                    progress("\(artifact.name) \(units.rawValue): failed: \(error)")
                }
            }
        }
        return (AppBenchmarkResults(device: DeviceInfo.device(name: deviceName), runs: results), failures)
    }

    private func measure(artifact: Artifact, model: CoreMLQAModel, seqLen: Int) throws -> AppBenchmarkResults.Run {
        let pair = try EncodedPair(tokenizer: artifact.tokenizer, question: Self.question, context: Self.passage,
                                   maxQueryLen: artifact.manifest.tokenizer.maxQueryLen)
        // One window of exactly `seqLen` tokens: a long sequence length pads, a short one cuts the passage.
        let features = try pair.features(tokenizer: artifact.tokenizer, maxSeqLen: seqLen,
                                         docStride: min(artifact.manifest.tokenizer.docStride, max(0, seqLen / 4)))
        let window = features.windows[0]
        let clock = ContinuousClock()
        var peak = DeviceInfo.physicalFootprint() ?? 0
        var t0 = clock.now
        _ = try model.predict(window)
        let firstMs = QAPipeline.milliseconds(clock.now - t0)
        var latencies: [Double] = []
        latencies.reserveCapacity(runs)
        for _ in 0..<runs {
            t0 = clock.now
            _ = try model.predict(window)
            latencies.append(QAPipeline.milliseconds(clock.now - t0))
            peak = max(peak, DeviceInfo.physicalFootprint() ?? 0)
        }
        return AppBenchmarkResults.Run(
            model: artifact.name, artifactSha256: artifact.manifest.sha256, task: artifact.manifest.task,
            precision: artifact.manifest.precision, seqLen: seqLen, runtime: "coreml",
            runtimeVersion: DeviceInfo.osVersion, computeUnits: model.computeUnits.rawValue, delegate: nil, threads: nil,
            initMs: model.loadMs, firstInferenceMs: firstMs, latenciesMs: latencies,
            peakMemoryBytes: peak > 0 ? peak : nil, modelSizeBytes: artifact.manifest.fileSizeBytes)
    }

    /// Writes Documents/pocketbert-ios-<time>.json (visible in the Files app) and returns its URL.
    static func write(_ results: AppBenchmarkResults) throws -> URL {
        let documents = try FileManager.default.url(for: .documentDirectory, in: .userDomainMask,
                                                    appropriateFor: nil, create: true)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let url = documents.appendingPathComponent("pocketbert-ios-\(stamp).json")
        try results.jsonData().write(to: url, options: .atomic)
        return url
    }
}
#endif
