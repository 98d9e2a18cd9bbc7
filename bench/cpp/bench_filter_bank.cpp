// semeq::FilterBank::process in C++, without Python: microseconds per 512-frame block, for the
// figures in docs/BENCHMARKS.md that leave out the Python call (what a plugin host pays).
//
//   cmake -S . -B build/bench -DSEMEQ_BENCH=ON -DBUILD_TESTING=OFF && cmake --build build/bench
//   build/bench/semeq_bench_filter_bank [channels ...]        (default: 2 16; SEMEQ_ISA picks a kernel)
//
// The bands and the schedule are bench_filterbank.py's: 5 bands; steady state, a new set (gains
// negated) every 9 blocks (20 ms ramps ~20 % of the time), and every block (always ramping). Input:
// 16 blocks of uniform noise in turn (in cache), out of place. Anchor, in the same run: a float64
// cascade of the same biquads, sample by sample through all sections (scipy sosfilt's loop and
// transposed direct form II, compiled here: no Python, no float64 copy of the input). Best of 5 runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "semeq/filter_bank.h"
#include "semeq/isa.h"

namespace {

constexpr double kFs = 48000.0;
constexpr int kBlock = 512, kDistinctBlocks = 16, kRepeats = 5;
const std::vector<semeq::Band> kBands = {{semeq::BandType::LowShelf, 120.0, 4.0, semeq::kShelfQ},
                                         {semeq::BandType::Peak, 400.0, -3.0, 1.0},
                                         {semeq::BandType::Peak, 2500.0, 6.0, 3.0},
                                         {semeq::BandType::Peak, 6000.0, -5.0, 0.5},
                                         {semeq::BandType::HighShelf, 10000.0, 3.0, semeq::kShelfQ}};

template <typename F>
double bestMicrosecondsPerBlock(int blocks, F&& run) {
    double best = 1e30;
    for (int r = 0; r < kRepeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const std::chrono::duration<double, std::micro> us = std::chrono::steady_clock::now() - t0;
        best = std::min(best, us.count() / blocks);
    }
    return best;
}

struct Noise {
    std::vector<std::vector<float>> in, out;  // [block * channels + c][t], [c][t]
    explicit Noise(int channels)
        : in(kDistinctBlocks * channels, std::vector<float>(kBlock)),
          out(channels, std::vector<float>(kBlock)) {
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (auto& b : in)
            for (float& s : b) s = u(rng);
    }
};

// `every` > 0: a new set every `every` blocks, alternating with the gains negated.
double filterBank(int channels, int every, int blocks) {
    Noise n(channels);
    std::vector<semeq::Band> negated = kBands;
    for (semeq::Band& b : negated) b.gainDb = -b.gainDb;
    semeq::FilterBank bank(kFs, channels, 16, 20.0);
    bank.setBands(kBands);
    std::vector<const float*> in(channels);
    std::vector<float*> out(channels);
    for (int c = 0; c < channels; ++c) out[c] = n.out[c].data();
    return bestMicrosecondsPerBlock(blocks, [&] {
        for (int i = 0; i < blocks; ++i) {
            if (every > 0 && i % every == 0) bank.setBands((i / every) % 2 ? negated : kBands);
            for (int c = 0; c < channels; ++c) in[c] = n.in[(i % kDistinctBlocks) * channels + c].data();
            bank.process(in.data(), out.data(), kBlock);
        }
    });
}

// The anchor: each channel's block through each section in turn, float64, state kept across blocks.
double cascadeAnchor(int channels, int blocks) {
    Noise n(channels);
    std::vector<semeq::Biquad> sections;
    for (const semeq::Band& b : kBands)
        sections.push_back(semeq::rbjDesign(b.type, b.freq, b.gainDb, b.q, kFs));
    std::vector<double> state(2 * sections.size() * channels, 0.0), x(kBlock);
    double sink = 0.0;
    const double us = bestMicrosecondsPerBlock(blocks, [&] {
        for (int i = 0; i < blocks; ++i)
            for (int c = 0; c < channels; ++c) {
                const std::vector<float>& src = n.in[(i % kDistinctBlocks) * channels + c];
                double* z = &state[2 * c * sections.size()];
                for (int t = 0; t < kBlock; ++t) {
                    double v = src[t];
                    for (size_t s = 0; s < sections.size(); ++s) {
                        const semeq::Biquad& q = sections[s];
                        const double y = q.b0 * v + z[2 * s];
                        z[2 * s] = q.b1 * v - q.a1 * y + z[2 * s + 1];
                        z[2 * s + 1] = q.b2 * v - q.a2 * y;
                        v = y;
                    }
                    x[t] = v;
                }
                for (int t = 0; t < kBlock; ++t) n.out[c][t] = static_cast<float>(x[t]);
                sink += x[kBlock - 1];
            }
    });
    if (sink == 12345.678) std::puts("");  // keeps the work observable
    return us;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> channelCounts;
    for (int i = 1; i < argc; ++i) channelCounts.push_back(std::atoi(argv[i]));
    if (channelCounts.empty()) channelCounts = {2, 16};
    std::printf("kernel %s; us per %d-frame block, best of %d runs\n", semeq::currentIsa().c_str(), kBlock,
                kRepeats);
    for (int channels : channelCounts) {
        const int blocks = std::max(2000, 40000 / channels);
        const double anchor = cascadeAnchor(channels, blocks);
        const double steady = filterBank(channels, 0, blocks), every9 = filterBank(channels, 9, blocks),
                     every1 = filterBank(channels, 1, blocks);
        std::printf("%2d channels: float64 cascade (anchor) %7.2f | FilterBank steady %6.2f (%5.2fx) | "
                    "new set every 9 blocks %6.2f (%5.2fx) | every block %6.2f (%5.2fx)\n",
                    channels, anchor, steady, anchor / steady, every9, anchor / every9, every1,
                    anchor / every1);
    }
}
