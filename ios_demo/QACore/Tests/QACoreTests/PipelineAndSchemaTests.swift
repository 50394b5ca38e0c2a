import Foundation
import XCTest
@testable import QACore

/// A model that "knows" the answer token: a high start and end logit wherever that token id sits.
final class ScriptedModel: QAModel, @unchecked Sendable {
    let sequenceLengths: [Int]
    let answerId: Int32
    private(set) var seenLengths: [Int] = []

    init(sequenceLengths: [Int], answerId: Int32) {
        self.sequenceLengths = sequenceLengths
        self.answerId = answerId
    }

    func predict(_ window: QAWindow) throws -> SpanLogits {
        seenLengths.append(window.sequenceLength)
        let logits = window.inputIds.map { $0 == answerId ? Float(8) : Float(0) }
        return SpanLogits(start: logits, end: logits)
    }
}

final class PipelineTests: XCTestCase {
    func testAnswersWithTheSmallestSequenceLengthThatFits() throws {
        let tok = try smallTokenizer()
        let model = ScriptedModel(sequenceLengths: [64, 16, 32], answerId: Int32(tok.vocabulary.id(of: "paris")!))
        let pipeline = QAPipeline(tokenizer: tok, model: model, docStride: 4)
        let context = "🍜 The capital of France is Paris."
        let result = try pipeline.answer(question: "What is the capital of France?", context: context)
        XCTAssertEqual(result.sequenceLength, 32, "7 question + 8 context + 3 special tokens need more than 16")
        XCTAssertEqual(model.seenLengths, [32])
        XCTAssertEqual(result.windowCount, 1)
        XCTAssertEqual(result.answer.text, "Paris")
        XCTAssertEqual(String(context[context.range(ofScalars: result.answer.span)]), "Paris")
        XCTAssertGreaterThan(result.answer.score, 0.5)
        XCTAssertGreaterThanOrEqual(result.timings.tokenizeMs, 0)
        XCTAssertEqual(result.timings.totalMs,
                       result.timings.tokenizeMs + result.timings.modelMs + result.timings.decodeMs, accuracy: 1e-9)
    }

    func testLongPassagesRunEveryWindowOfTheLongestLength() throws {
        let tok = try smallTokenizer()
        let model = ScriptedModel(sequenceLengths: [16], answerId: Int32(tok.vocabulary.id(of: "paris")!))
        let pipeline = QAPipeline(tokenizer: tok, model: model, docStride: 4)
        let context = String(repeating: "a b ", count: 12) + "paris " + String(repeating: "b a ", count: 3)
        let result = try pipeline.answer(question: "where", context: context)
        XCTAssertGreaterThan(result.windowCount, 1)
        XCTAssertEqual(model.seenLengths, Array(repeating: 16, count: result.windowCount))
        XCTAssertEqual(result.answer.text, "paris")
        XCTAssertEqual(result.answer.startChar, 48)
    }

    func testEmptyQuestionNeverReachesTheModel() throws {
        let tok = try smallTokenizer()
        let model = ScriptedModel(sequenceLengths: [16], answerId: 0)
        XCTAssertThrowsError(try QAPipeline(tokenizer: tok, model: model).answer(question: "  ", context: "paris")) {
            XCTAssertEqual($0 as? QAError, .emptyQuestion)
        }
        XCTAssertTrue(model.seenLengths.isEmpty)
    }
}

final class ManifestTests: XCTestCase {
    /// Fixtures/manifest.json was written by `pocketbert convert ios` (a tiny BERT, --seq-len 64 128, fp16).
    func testDecodesAManifestWrittenByTheConverter() throws {
        let m = try ArtifactManifest.decode(Data(contentsOf: fixtureURL("manifest.json")))
        XCTAssertEqual(m.format, "coreml")
        XCTAssertEqual(m.task, "qa")
        XCTAssertEqual(m.modelFile, "model.mlpackage")
        XCTAssertEqual(m.seqLens, [64, 128])
        XCTAssertEqual(m.signatures.map(\.name), ["seq_64", "seq_128"])
        XCTAssertEqual(m.modelFile(forSequenceLength: 64), "model.mlpackage")
        XCTAssertEqual(m.inputNames, ["input_ids", "attention_mask", "token_type_ids"])
        XCTAssertTrue(m.takesTokenTypeIds)
        XCTAssertEqual(m.outputNames, ["start_logits", "end_logits"])
        XCTAssertEqual(m.inputs[0].dtype, "int32")
        XCTAssertEqual(m.tokenizer.specialIds["cls"], 101)
        XCTAssertEqual(m.tokenizerSettings, TokenizerSettings(lowercase: true, stripAccents: nil, tokenizeChineseChars: true))
        XCTAssertEqual(m.tokenizer.docStride, 128)
        XCTAssertEqual(m.parity.status, "spec-only")
        XCTAssertNil(m.parity.taskAgreement)
        XCTAssertNil(m.labels)
        XCTAssertEqual(m.versions["coremltools"], "9.0")
        XCTAssertEqual(m.quantization, .object(["compute_units": .string("all"), "minimum_deployment_target": .string("iOS18"),
                                                "scheme": .string("float16 weights and compute"),
                                                "tool": .string("coremltools compute_precision=FLOAT16")]))
    }

    func testRoundTripAndRejectsOtherSchemas() throws {
        let data = try Data(contentsOf: fixtureURL("manifest.json"))
        var m = try ArtifactManifest.decode(data)
        XCTAssertEqual(try ArtifactManifest.decode(JSONEncoder().encode(m)), m)
        m.schemaVersion = 2
        XCTAssertThrowsError(try ArtifactManifest.decode(JSONEncoder().encode(m))) { error in
            guard case .unsupportedSchema(_, 2)? = error as? ManifestError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ArtifactManifest.decode(Data("{\"format\": \"coreml\"}".utf8))) { error in
            guard case .invalid? = error as? ManifestError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ArtifactManifest.load(from: URL(fileURLWithPath: "/nonexistent-artifact"))) { error in
            guard case .missing? = error as? ManifestError else { return XCTFail("\(error)") }
        }
    }
}

final class BenchmarkResultsTests: XCTestCase {
    private let sample = AppBenchmarkResults(
        device: .init(model: "iPhone15,2", name: "iPhone", os: "iOS 17.4", soc: nil, cores: 6, memoryBytes: 6_000_000_000),
        runs: [.init(model: "tiny-qa-fp16", artifactSha256: String(repeating: "a", count: 64), task: "qa", precision: "fp16",
                     seqLen: 384, runtimeVersion: "iOS 17.4", computeUnits: "cpu_and_ne", initMs: 120.5,
                     firstInferenceMs: 80.1, latenciesMs: [12.5, 11.5, 13.5, 12.0], peakMemoryBytes: 123_456_789,
                     modelSizeBytes: 68_000_000)])

    func testWritesTheContractKeysWithExplicitNulls() throws {
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: sample.jsonData()) as? [String: Any])
        XCTAssertEqual(object["pocketbert_app_results"] as? Int, 1)
        XCTAssertEqual(object["app"] as? String, "ios_demo")
        let device = try XCTUnwrap(object["device"] as? [String: Any])
        XCTAssertEqual(Set(device.keys), ["model", "name", "os", "soc", "cores", "memory_bytes"])
        XCTAssertTrue(device["soc"] is NSNull, "null, not a missing key")
        let run = try XCTUnwrap((object["runs"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(run.keys), ["model", "artifact_sha256", "task", "precision", "seq_len", "runtime",
                                       "runtime_version", "compute_units", "delegate", "threads", "init_ms",
                                       "first_inference_ms", "latencies_ms", "peak_memory_bytes", "model_size_bytes"])
        XCTAssertEqual(run["runtime"] as? String, "coreml")
        XCTAssertTrue(run["delegate"] is NSNull)
        XCTAssertEqual(run["latencies_ms"] as? [Double], [12.5, 11.5, 13.5, 12.0])
        XCTAssertEqual(run["peak_memory_bytes"] as? Int, 123_456_789)
    }

    func testRoundTrip() throws {
        XCTAssertEqual(try AppBenchmarkResults.decode(sample.jsonData()), sample)
    }

    func testLatencySummary() throws {
        let s = try XCTUnwrap(sample.runs[0].summary)
        XCTAssertEqual(s.min, 11.5)
        XCTAssertEqual(s.max, 13.5)
        XCTAssertEqual(s.p50, 12.25, accuracy: 1e-12, "linear interpolation, as numpy.percentile")
        XCTAssertEqual(s.p90, 13.2, accuracy: 1e-12)
        XCTAssertEqual(s.mean, 12.375, accuracy: 1e-12)
        XCTAssertNil(LatencySummary([]))
    }
}

final class ComputeUnitsNameTests: XCTestCase {
    func testParsesTheLaunchArgumentList() throws {
        XCTAssertEqual(try ComputeUnitsName.parseList(nil), ComputeUnitsName.allCases)
        XCTAssertEqual(try ComputeUnitsName.parseList("cpu_only, cpu_and_ne"), [.cpuOnly, .cpuAndNeuralEngine])
        XCTAssertThrowsError(try ComputeUnitsName.parseList("all,npu")) { error in
            XCTAssertEqual(error as? ComputeUnitsName.UnknownComputeUnits, .init(name: "npu"))
        }
    }
}
