// Stand-in declarations of the Core ML API that the app's non-UI files call, so that `make test` can
// type-check those files on Linux (no Core ML there). Not an implementation: every body traps.
//
// Each declaration copies the signature of the iOS 16 SDK (Apple's documentation, CoreML.framework); add one
// here only when the app starts calling it, and copy it from the SDK, never to make a call compile that the
// SDK would reject. What this proves: the app's files parse, name only these APIs with these argument labels
// and types, and agree with QACore. What it cannot prove: availability, overloads it does not declare, or the
// SwiftUI screens (they stay Xcode-only; see ios_demo/README.md "Checks on Linux").
import Foundation

public enum MLComputeUnits: Int, Sendable {
    case cpuOnly = 0
    case cpuAndGPU = 1
    case all = 2
    case cpuAndNeuralEngine = 3
}

public enum MLMultiArrayDataType: Int, Sendable {
    case double = 65600
    case float64 = 65601
    case float32 = 65568
    case float16 = 65552
    case float = 65569
    case int32 = 131104
}

open class MLModelConfiguration: NSObject {
    open var computeUnits: MLComputeUnits = .all
    override public init() { super.init() }
}

open class MLMultiArray: NSObject {
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws { fatalError("stand-in") }
    open var shape: [NSNumber] { fatalError("stand-in") }
    open var strides: [NSNumber] { fatalError("stand-in") }
    open var count: Int { fatalError("stand-in") }
    open var dataType: MLMultiArrayDataType { fatalError("stand-in") }
    open subscript(key: [NSNumber]) -> NSNumber {
        get { fatalError("stand-in") }
        set { fatalError("stand-in") }
    }
    public func withUnsafeBufferPointer<S, R>(ofType type: S.Type,
                                             _ body: (UnsafeBufferPointer<S>) throws -> R) rethrows -> R {
        fatalError("stand-in")
    }
    public func withUnsafeMutableBufferPointer<S, R>(
        ofType type: S.Type, _ body: (_ buffer: UnsafeMutableBufferPointer<S>, _ strides: [Int]) throws -> R
    ) rethrows -> R {
        fatalError("stand-in")
    }
}

open class MLFeatureValue: NSObject {
    public convenience init(multiArray value: MLMultiArray) { fatalError("stand-in") }
    open var multiArrayValue: MLMultiArray? { fatalError("stand-in") }
}

public protocol MLFeatureProvider {
    var featureNames: Set<String> { get }
    func featureValue(for featureName: String) -> MLFeatureValue?
}

open class MLDictionaryFeatureProvider: NSObject, MLFeatureProvider {
    public init(dictionary: [String: Any]) throws { fatalError("stand-in") }
    open var featureNames: Set<String> { fatalError("stand-in") }
    open func featureValue(for featureName: String) -> MLFeatureValue? { fatalError("stand-in") }
}

open class MLModel: NSObject {
    open class func compileModel(at modelURL: URL) async throws -> URL { fatalError("stand-in") }
    open class func load(contentsOf url: URL, configuration: MLModelConfiguration = MLModelConfiguration())
        async throws -> MLModel { fatalError("stand-in") }
    open func prediction(from input: MLFeatureProvider) throws -> MLFeatureProvider { fatalError("stand-in") }
}
