// semeq::Processor in C++, without Python: what a plugin's audio thread pays per 512-frame block, in both
// analysis schedules, against the bare FilterBank with the engine's bands (same run). The model is
// cpp/tests/linear_model.h's fixed map (no inference: the realtime schedule keeps inference off the
// audio thread, and bench/bench_processor.py times the bundle's models).
//
//   cmake -S . -B build/bench -DSEMEQ_BENCH=ON -DBUILD_TESTING=OFF && cmake --build build/bench
//   taskset -c 0 build/bench/semeq_bench_processor [seconds]        (default 60)
//
// Input: stereo dark noise at 48 kHz. Per schedule, the best of 3 runs by wall time; block times as % of
// the block's duration (10.67 ms).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "../../cpp/tests/linear_model.h"
#include "semeq/processor.h"

namespace {

constexpr int kBlock = 512, kRepeats = 3;
constexpr double kFs = 48000.0;

struct Run {
    double seconds = 1e30;
    std::vector<double> blockUs;
};

template <typename Process>
Run timeBlocks(const std::vector<std::vector<float>>& x, Process&& process) {
    const auto n = static_cast<int64_t>(x[0].size());
    std::vector<std::vector<float>> y(2, std::vector<float>(kBlock));
    Run run;
    run.blockUs.reserve(n / kBlock);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t at = 0; at + kBlock <= n; at += kBlock) {
        const float* in[2] = {x[0].data() + at, x[1].data() + at};
        float* out[2] = {y[0].data(), y[1].data()};
        const auto t0 = std::chrono::steady_clock::now();
        process(in, out);
        run.blockUs.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
}

void report(const char* name, const Run& run, double audioSeconds) {
    std::vector<double> t = run.blockUs;
    std::sort(t.begin(), t.end());
    const double blockUs = 1e6 * kBlock / kFs;
    auto pct = [&](double q) { return 100.0 * t[std::min(t.size() - 1, static_cast<size_t>(q * t.size()))] / blockUs; };
    std::printf("%-34s %7.0fx real time   block p50 %5.2f %%  p99 %5.2f %%  p99.9 %6.2f %%  max %6.2f %%\n", name,
                audioSeconds / run.seconds, pct(0.5), pct(0.99), pct(0.999), 100.0 * t.back() / blockUs);
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 60.0;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<std::vector<float>> x(2, std::vector<float>(static_cast<size_t>(seconds * kFs)));
    for (auto& channel : x) {
        float state = 0.0f;
        for (float& v : channel) v = state = 0.97f * state + normal(rng);
    }
    std::printf("semeq::Processor, stereo 48 kHz, %d-frame blocks, %.0f s of dark noise, best of %d\n", kBlock,
                seconds, kRepeats);
    std::vector<semeq::Band> bands;
    for (bool realtime : {false, true}) {
        Run best;
        for (int r = 0; r < kRepeats; ++r) {
            semeq::ProcessorOptions o;
            o.realtime = realtime;
            semeq::Processor p(o, std::make_shared<semeq::testing::LinearModel>(), semeq::testing::kWarm,
                               semeq::testing::kSpread, 1.0);
            Run run = timeBlocks(x, [&](const float* const* in, float* const* out) { p.process(in, out, kBlock); });
            if (run.seconds < best.seconds) best = run;
            semeq::Band b[semeq::Plan::kBands];
            bands.assign(b, b + p.eqBands(b));
        }
        report(realtime ? "Processor, realtime schedule" : "Processor, deterministic schedule", best, seconds);
    }
    Run best;
    for (int r = 0; r < kRepeats; ++r) {
        semeq::FilterBank fb(kFs, 2);
        fb.setBands(bands);
        Run run = timeBlocks(x, [&](const float* const* in, float* const* out) { fb.process(in, out, kBlock); });
        if (run.seconds < best.seconds) best = run;
    }
    report("anchor: FilterBank, the same bands", best, seconds);
    return 0;
}
