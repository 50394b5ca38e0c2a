import Foundation

/// `manifest.json` of an artifact dir (CONTRACTS.md §5; schema: pocketbert/core/manifest.py).
/// Keys the schema requires are non-optional, so a manifest from another schema fails at load, not mid-answer.
public struct ArtifactManifest: Sendable, Equatable, Codable {
    public static let fileName = "manifest.json"
    public static let supportedSchemaVersion = 1

    public var schemaVersion: Int
    public var format: String
    public var modelFile: String
    public var sourceModel: String
    public var sourceArchitecture: String
    public var modelType: String
    public var task: String
    public var precision: String
    public var quantization: JSONValue?
    public var seqLens: [Int]
    public var signatures: [Signature]
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    public var tokenizer: TokenizerBlock
    public var labels: [String]?
    public var fileSizeBytes: Int64
    public var sha256: String
    public var versions: [String: String?]
    public var parity: Parity
    public var createdAt: String

    public struct Signature: Sendable, Equatable, Codable {
        public var name: String
        public var seqLen: Int
        public var file: String

        enum CodingKeys: String, CodingKey {
            case name, file
            case seqLen = "seq_len"
        }
    }

    public struct TensorSpec: Sendable, Equatable, Codable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
    }

    public struct TokenizerBlock: Sendable, Equatable, Codable {
        public var vocabFile: String
        public var lowercase: Bool
        public var stripAccents: Bool?
        public var tokenizeChineseChars: Bool
        public var maxQueryLen: Int
        public var docStride: Int
        public var maxAnswerLen: Int
        public var specialIds: [String: Int?]

        enum CodingKeys: String, CodingKey {
            case lowercase
            case vocabFile = "vocab_file"
            case stripAccents = "strip_accents"
            case tokenizeChineseChars = "tokenize_chinese_chars"
            case maxQueryLen = "max_query_len"
            case docStride = "doc_stride"
            case maxAnswerLen = "max_answer_len"
            case specialIds = "special_ids"
        }
    }

    public struct OutputStats: Sendable, Equatable, Codable {
        public var maxAbs: Double
        public var meanAbs: Double
        public var cosine: Double

        enum CodingKeys: String, CodingKey {
            case cosine
            case maxAbs = "max_abs"
            case meanAbs = "mean_abs"
        }
    }

    public struct Parity: Sendable, Equatable, Codable {
        public var status: String
        public var runtime: String
        public var n: Int
        public var outputs: [String: OutputStats]
        public var taskAgreement: Double?
        public var thresholds: JSONValue
        public var note: String

        enum CodingKeys: String, CodingKey {
            case status, runtime, n, outputs, thresholds, note
            case taskAgreement = "task_agreement"
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, task, precision, quantization, signatures, inputs, outputs, tokenizer, labels, sha256, versions, parity
        case schemaVersion = "schema_version"
        case modelFile = "model_file"
        case sourceModel = "source_model"
        case sourceArchitecture = "source_architecture"
        case modelType = "model_type"
        case seqLens = "seq_lens"
        case fileSizeBytes = "file_size_bytes"
        case createdAt = "created_at"
    }

    /// Reads `<dir>/manifest.json`.
    public static func load(from artifactDir: URL) throws -> ArtifactManifest {
        let url = artifactDir.appendingPathComponent(fileName)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ManifestError.missing(path: url.path)
        }
        return try decode(data, path: url.path)
    }

    public static func decode(_ data: Data, path: String = fileName) throws -> ArtifactManifest {
        let manifest: ArtifactManifest
        do {
            manifest = try JSONDecoder().decode(ArtifactManifest.self, from: data)
        } catch {
            throw ManifestError.invalid(path: path, reason: String(describing: error))
        }
        guard manifest.schemaVersion == supportedSchemaVersion else {
            throw ManifestError.unsupportedSchema(path: path, version: manifest.schemaVersion)
        }
        return manifest
    }

    // MARK: What the app needs from it

    /// The BERT tokenizer settings the model was trained with.
    public var tokenizerSettings: TokenizerSettings {
        TokenizerSettings(lowercase: tokenizer.lowercase, stripAccents: tokenizer.stripAccents,
                          tokenizeChineseChars: tokenizer.tokenizeChineseChars)
    }

    /// Whether the model takes `token_type_ids` (BERT does, DistilBERT does not).
    public var takesTokenTypeIds: Bool { inputs.contains { $0.name == "token_type_ids" } }

    public var inputNames: [String] { inputs.map(\.name) }
    public var outputNames: [String] { outputs.map(\.name) }

    /// The model file holding `seqLen` (a signature's file, else `model_file`), relative to the artifact dir.
    public func modelFile(forSequenceLength seqLen: Int) -> String {
        signatures.first { $0.seqLen == seqLen && !$0.file.isEmpty }?.file ?? modelFile
    }
}

public enum ManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(path: String)
    case invalid(path: String, reason: String)
    case unsupportedSchema(path: String, version: Int)

    public var description: String {
        switch self {
        case let .missing(path):
            return "No manifest at \(path); copy the whole artifact folder written by `make convert-ios`."
        case let .invalid(path, reason):
            return "\(path) is not a pocketbert manifest (\(reason)); re-run `make convert-ios`."
        case let .unsupportedSchema(path, version):
            return "\(path) has schema_version \(version); this app reads version "
                + "\(ArtifactManifest.supportedSchemaVersion). Re-run `make convert-ios` with this checkout."
        }
    }
}
