#if canImport(SwiftUI) && canImport(CoreML)
import QACore
import SwiftUI

/// Launch arguments (Xcode scheme or `xcrun devicectl device process launch ... -benchmark 50`):
///   -benchmark N           run N timed predictions per model / compute units at launch and write the JSON
///   -computeUnits LIST     comma list of all, cpu_and_ne, cpu_and_gpu, cpu_only (default: all four)
@main
struct PocketBERTDemoApp: App {
    @StateObject private var store = DemoStore()
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            TabView {
                AnswerScreen()
                    .tabItem { Label("Ask", systemImage: "text.magnifyingglass") }
                BenchmarkScreen()
                    .tabItem { Label("Benchmark", systemImage: "speedometer") }
            }
            .environmentObject(store)
            .task { await runLaunchBenchmark() }
        }
        .onChange(of: scenePhase) { phase in
            // Artifacts dropped into Documents/Models while the app was in the background.
            if phase == .active && !store.busy { store.reload() }
        }
    }

    private func runLaunchBenchmark() async {
        let defaults = UserDefaults.standard  // "-benchmark 20" on the command line lands here
        let runs = defaults.integer(forKey: "benchmark")
        guard runs > 0 else { return }
        do {
            let units = try ComputeUnitsName.parseList(defaults.string(forKey: "computeUnits"))
            await store.benchmark(runs: runs, units: units)
        } catch {
            print("[benchmark] \(error)")
        }
    }
}
#endif
