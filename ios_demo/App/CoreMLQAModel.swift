#if canImport(CoreML)
import CoreML
import Foundation
import QACore

extension ComputeUnitsName {
    var mlComputeUnits: MLComputeUnits {
        switch self {
        case .all: return .all
        case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
        case .cpuAndGPU: return .cpuAndGPU
        case .cpuOnly: return .cpuOnly
        }
    }
}

enum CoreMLQAModelError: Error, CustomStringConvertible {
    case noModel(seqLen: Int)
    case missingOutput(String)

    var description: String {
        switch self {
        case let .noModel(seqLen): return "The artifact has no model for sequence length \(seqLen)."
        case let .missingOutput(name): return "The model returned no \(name); convert it with `make convert-ios TASK=qa`."
        }
    }
}

/// `QAModel` on Core ML: reads the manifest for input names and sequence lengths, feeds int32 (1, S) arrays
/// (token_type_ids only when the manifest lists it), returns float32 start/end logits.
final class CoreMLQAModel: QAModel, @unchecked Sendable {  // MLModel predictions are thread-safe
    let manifest: ArtifactManifest
    let sequenceLengths: [Int]
    let computeUnits: ComputeUnitsName
    /// Milliseconds to compile the .mlpackage (first launch only; cached after) and to load the compiled model.
    let compileMs: Double
    let loadMs: Double
    private let models: [Int: MLModel]
    private let inputNames: [String]

    /// Compiles (once per artifact sha256, cached in Caches/) and loads every model file the manifest names:
    /// one package for all lengths, or one per length (`convert ios` below iOS 18), so that a short question
    /// runs on the smallest length that holds it (`QAModel.sequenceLength(for:)`).
    static func load(artifactDir: URL, manifest: ArtifactManifest, computeUnits: ComputeUnitsName) async throws -> CoreMLQAModel {
        let clock = ContinuousClock()
        var compiled: [String: URL] = [:]
        var t0 = clock.now
        for seqLen in manifest.seqLens {
            let file = manifest.modelFile(forSequenceLength: seqLen)
            if compiled[file] == nil {
                compiled[file] = try await compiledModel(artifactDir.appendingPathComponent(file), sha256: manifest.sha256)
            }
        }
        let compileMs = QAPipeline.milliseconds(clock.now - t0)

        t0 = clock.now
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits.mlComputeUnits
        var byFile: [String: MLModel] = [:]
        var models: [Int: MLModel] = [:]
        for seqLen in manifest.seqLens {
            let file = manifest.modelFile(forSequenceLength: seqLen)
            if byFile[file] == nil {
                // The async loader (iOS 16+) does not block the calling thread while Core ML prepares the model.
                byFile[file] = try await MLModel.load(contentsOf: compiled[file]!, configuration: config)
            }
            models[seqLen] = byFile[file]
        }
        let loadMs = QAPipeline.milliseconds(clock.now - t0)
        return CoreMLQAModel(manifest: manifest, models: models, computeUnits: computeUnits, compileMs: compileMs, loadMs: loadMs)
    }

    private init(manifest: ArtifactManifest, models: [Int: MLModel], computeUnits: ComputeUnitsName, compileMs: Double, loadMs: Double) {
        self.manifest = manifest
        self.models = models
        self.computeUnits = computeUnits
        self.compileMs = compileMs
        self.loadMs = loadMs
        sequenceLengths = manifest.seqLens.sorted()
        inputNames = manifest.inputNames
    }

    /// A compiled .mlmodelc for `url` (.mlpackage / .mlmodel), compiled once and kept in Caches/.
    private static func compiledModel(_ url: URL, sha256: String) async throws -> URL {
        if url.pathExtension == "mlmodelc" { return url }
        let fm = FileManager.default
        let caches = try fm.url(for: .cachesDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        let cached = caches.appendingPathComponent("\(sha256)-\(url.deletingPathExtension().lastPathComponent).mlmodelc")
        if fm.fileExists(atPath: cached.path) { return cached }
        let temporary = try await MLModel.compileModel(at: url)
        try? fm.removeItem(at: cached)
        try fm.moveItem(at: temporary, to: cached)
        return cached
    }

    func predict(_ window: QAWindow) throws -> SpanLogits {
        guard let model = models[window.sequenceLength] else { throw CoreMLQAModelError.noModel(seqLen: window.sequenceLength) }
        var features: [String: MLFeatureValue] = [:]
        for name in inputNames {
            let values: [Int32]
            switch name {
            case "input_ids": values = window.inputIds
            case "attention_mask": values = window.attentionMask
            case "token_type_ids": values = window.tokenTypeIds
            default: continue  // a name this app does not produce; Core ML will report it missing
            }
            features[name] = MLFeatureValue(multiArray: try Self.int32Array(values))
        }
        let output = try model.prediction(from: MLDictionaryFeatureProvider(dictionary: features))
        guard let start = output.featureValue(for: "start_logits")?.multiArrayValue else {
            throw CoreMLQAModelError.missingOutput("start_logits")
        }
        guard let end = output.featureValue(for: "end_logits")?.multiArrayValue else {
            throw CoreMLQAModelError.missingOutput("end_logits")
        }
        return SpanLogits(start: Self.floats(start), end: Self.floats(end))
    }

    /// A (1, S) int32 MLMultiArray holding `values`.
    static func int32Array(_ values: [Int32]) throws -> MLMultiArray {
        let array = try MLMultiArray(shape: [1, NSNumber(value: values.count)], dataType: .int32)
        array.withUnsafeMutableBufferPointer(ofType: Int32.self) { pointer, strides in
            let step = strides.last ?? 1
            for (i, v) in values.enumerated() { pointer[i * step] = v }
        }
        return array
    }

    /// The S values of a (1, S) output as Float, whatever its storage type and strides.
    static func floats(_ array: MLMultiArray) -> [Float] {
        let n = array.shape.last?.intValue ?? array.count
        if array.dataType == .float32 {
            return array.withUnsafeBufferPointer(ofType: Float.self) { pointer in
                let step = array.strides.last?.intValue ?? 1
                return (0..<n).map { pointer[$0 * step] }
            }
        }
        let lead = Array(repeating: NSNumber(value: 0), count: max(0, array.shape.count - 1))
        return (0..<n).map { array[lead + [NSNumber(value: $0)]].floatValue }
    }
}
#endif
