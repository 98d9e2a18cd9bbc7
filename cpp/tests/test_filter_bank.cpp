// semeq::FilterBank alone: accuracy against a plain scalar cascade, streaming exactness for any block
// size and every kernel, ramps staying finite, non-finite input, parameter validation.
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "harness.h"
#include "semeq/filter_bank.h"
#include "semeq/isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

using semeq::Band;
using semeq::BandType;
using semeq::FilterBank;

namespace {

const std::vector<Band> kBands = {{BandType::LowShelf, 120.0, 4.0, semeq::kShelfQ},
                                  {BandType::Peak, 400.0, -3.0, 1.0},
                                  {BandType::Peak, 2500.0, 6.0, 3.0},
                                  {BandType::Peak, 6000.0, -5.0, 0.5},
                                  {BandType::HighShelf, 10000.0, 3.0, semeq::kShelfQ}};

std::vector<float> noise(int channels, int frames, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(channels) * frames);
    for (float& v : x) v = u(rng);
    return x;
}

// Runs the bank over planar x in blocks of `block` frames; returns the output.
std::vector<float> run(FilterBank& fb, const std::vector<float>& x, int frames, int block) {
    const int channels = fb.channels();
    std::vector<float> y(x.size());
    std::vector<const float*> in(channels);
    std::vector<float*> out(channels);
    for (int start = 0; start < frames; start += block) {
        const int n = std::min(block, frames - start);
        for (int c = 0; c < channels; ++c) {
            in[c] = x.data() + static_cast<size_t>(c) * frames + start;
            out[c] = y.data() + static_cast<size_t>(c) * frames + start;
        }
        fb.process(in.data(), out.data(), n);
    }
    return y;
}

// Plain float64 TDF-II cascade, the textbook reference.
std::vector<double> reference(const std::vector<float>& x, int channels, int frames, double fs,
                              const std::vector<Band>& bands = kBands) {
    std::vector<double> y(x.begin(), x.end());
    for (const Band& b : bands) {
        const semeq::Biquad c = semeq::rbjDesign(b.type, b.freq, b.gainDb, b.q, fs);
        for (int ch = 0; ch < channels; ++ch) {
            double s1 = 0.0, s2 = 0.0;
            for (int t = 0; t < frames; ++t) {
                double& v = y[static_cast<size_t>(ch) * frames + t];
                const double out = c.b0 * v + s1;
                s1 = c.b1 * v - c.a1 * out + s2;
                s2 = c.b2 * v - c.a2 * out;
                v = out;
            }
        }
    }
    return y;
}

}  // namespace

TEST(filter_bank, matches_scalar_float64_cascade) {
    for (int channels : {1, 2, 5, 16}) {
        const int frames = 48000;
        const auto x = noise(channels, frames, 1);
        FilterBank fb(48000.0, channels, 16, 20.0);
        fb.setBands(kBands);
        const auto y = run(fb, x, frames, frames);
        const auto ref = reference(x, channels, frames, 48000.0);
        double worst = 0.0;
        for (size_t i = 0; i < y.size(); ++i) worst = std::fmax(worst, std::fabs(y[i] - ref[i]));
        CHECK(worst <= 1e-6, "channels %d: max error %g", channels, worst);
    }
}

// Every band count lays the sections out differently (one vector or a chain of several, one chunk or
// more, the last one partly idle): 1-64 bands, 1-16 channels, every kernel, against the reference.
TEST(filter_bank, matches_float64_cascade_for_every_band_count_and_kernel) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> logFreq(std::log(30.0), std::log(15000.0)), gain(-6.0, 6.0),
        logQ(std::log(0.5), std::log(4.0));
    for (const std::string& isa : semeq::availableIsas()) {
        semeq::setIsa(isa);
        for (const int count : {1, 7, 9, 17, 20, 33, 64})
            for (const int channels : {1, 2, 3, 16}) {
                std::vector<Band> bands(static_cast<size_t>(count));
                for (Band& b : bands) b = {BandType::Peak, std::exp(logFreq(rng)), gain(rng), std::exp(logQ(rng))};
                const int frames = 3000;
                const auto x = noise(channels, frames, 3);
                FilterBank fb(48000.0, channels, 64, 20.0);
                fb.setBands(bands);
                const auto y = run(fb, x, frames, 512);
                const auto ref = reference(x, channels, frames, 48000.0, bands);
                double worst = 0.0, scale = 0.0;
                for (size_t i = 0; i < y.size(); ++i) {
                    worst = std::fmax(worst, std::fabs(y[i] - ref[i]));
                    scale = std::fmax(scale, std::fabs(ref[i]));
                }
                CHECK(worst <= 1e-6 * std::fmax(scale, 1.0), "isa %s, %d bands, %d channels: max error %g (scale %g)",
                      isa.c_str(), count, channels, worst, scale);
            }
    }
    semeq::setIsa(semeq::availableIsas().back());
}

// 64 low-passes at 20 Hz: the product of their b0 (~4e-7 each) underflows double, so the steady state
// must run the plain form (filter_bank.cpp); pooled, the gain would be 0 and the scaled signals
// overflow. A DC input comes out at DC gain 1 once the cascade has settled, for every kernel.
TEST(filter_bank, a_cascade_whose_pooled_gain_underflows_runs_the_plain_form) {
    for (const std::string& isa : semeq::availableIsas()) {
        semeq::setIsa(isa);
        FilterBank fb(48000.0, 1, 64, 20.0);
        fb.setBands(std::vector<Band>(64, Band{BandType::LowPass, 20.0, 0.0, 0.5}));
        const int frames = 96000;
        const std::vector<float> x(frames, 0.5f);
        const auto y = run(fb, x, frames, 512);
        bool finite = true;
        for (float v : y) finite = finite && std::isfinite(v);
        CHECK(finite, "isa %s: non-finite output", isa.c_str());
        CHECK(std::fabs(y[frames - 1] - 0.5f) < 1e-4f, "isa %s: settled output %g, expected 0.5", isa.c_str(),
              static_cast<double>(y[frames - 1]));
    }
    semeq::setIsa(semeq::availableIsas().back());
}

// Kernels with the same fused-multiply-add use (scalar/sse2 without, avx2/avx512 with) give identical
// output for every block size; the two families differ only by float64 rounding (at most one float32
// ulp here). 3 and 8 channels: the kernels lay them out differently (sections or channels in lanes),
// so ramps interpolate lane by lane in some and along time in others.
TEST(filter_bank, identical_for_every_block_size_and_kernel) {
    for (const int channels : {3, 8}) {
        const int frames = 9000;
        const auto x = noise(channels, frames, 2);
        std::vector<float> first[2];  // per family: [fused]
        for (const std::string& isa : semeq::availableIsas()) {
            const bool fused = semeq::isaFusesMultiplyAdd(isa);
            semeq::setIsa(isa);
            for (int block : {frames, 512, 7, 1}) {
                // a parameter change at a block boundary every block size shares, so a ramp runs too
                FilterBank fb2(48000.0, channels, 16, 5.0);
                fb2.setBands(kBands);
                // first 3584 frames (7 * 512), then new bands, then the rest
                const int split = 3584;
                std::vector<float> a(static_cast<size_t>(channels) * split);
                std::vector<float> b(static_cast<size_t>(channels) * (frames - split));
                for (int c = 0; c < channels; ++c) {
                    std::copy(x.begin() + c * frames, x.begin() + c * frames + split, a.begin() + c * split);
                    std::copy(x.begin() + c * frames + split, x.begin() + (c + 1) * frames,
                              b.begin() + c * (frames - split));
                }
                auto ya = run(fb2, a, split, block);
                std::vector<Band> moved = kBands;
                moved[1].gainDb = 9.0;
                moved[2].freq = 700.0;
                moved[3].type = BandType::HighPass;
                fb2.setBands(moved);
                auto yb = run(fb2, b, frames - split, block);
                std::vector<float> all = ya;
                all.insert(all.end(), yb.begin(), yb.end());
                if (first[fused].empty()) first[fused] = all;
                CHECK(all == first[fused], "isa %s block %d differs", isa.c_str(), block);
                const std::vector<float>& other = first[!fused];
                for (size_t i = 0; i < other.size(); ++i) {
                    const float magnitude = std::fabs(other[i]);
                    if (std::fabs(all[i] - other[i]) > std::nextafter(magnitude, INFINITY) - magnitude) {
                        CHECK(false, "isa %s block %d: sample %zu differs by more than one ulp from the other family",
                              isa.c_str(), block, i);
                        break;
                    }
                }
                bool finite = true;
                for (float v : all) finite = finite && std::isfinite(v);
                CHECK(finite, "isa %s block %d: non-finite output", isa.c_str(), block);
            }
        }
    }
    semeq::setIsa(semeq::availableIsas().back());
}

TEST(filter_bank, random_ramps_stay_bounded) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (double fs : {8000.0, 48000.0, 192000.0}) {
        FilterBank fb(fs, 2, 8, 10.0);
        const auto x = noise(2, 256, 4);
        double worst = 0.0;
        for (int set = 0; set < 400; ++set) {
            std::vector<Band> bands(1 + set % 8);
            for (Band& b : bands) {
                b.type = static_cast<BandType>(static_cast<int>(u(rng) * 5) % 5);
                b.freq = std::fmin(20.0 * std::pow(1000.0, u(rng)), 0.49 * fs);
                b.gainDb = -12.0 + 24.0 * u(rng);
                b.q = 0.1 * std::pow(100.0, u(rng));
            }
            fb.setBands(bands);
            const auto y = run(fb, x, 256, 256);
            for (float v : y) worst = std::isfinite(v) ? std::fmax(worst, std::fabs(v)) : INFINITY;
        }
        // 8 bands of at most +12 dB and Q-resonances up to 10: a blow-up would pass any fixed bound
        CHECK(worst < 1e6, "fs %g: max |y| = %g", fs, worst);
    }
}

// appliedResponseDb follows a ramp: a +12 dB step of a peak rises monotonically through the applied
// response, along the ramp's path (the gain moves linearly in dB between exact designs at the control
// points), and ends exactly on the target, whether blocks end on control points (512) or between
// them (7, 300).
TEST(filter_bank, applied_response_follows_the_ramp) {
    const double fs = 48000.0, f0 = 1000.0;
    for (int block : {512, 7, 300}) {
        FilterBank fb(fs, 1, 4, 100.0);
        double db = 0.0;
        fb.appliedResponseDb(&f0, &db, 1);
        CHECK(db == 0.0, "block %d: %g dB applied before any process()", block, db);
        fb.setBands(std::vector<Band>{{BandType::Peak, f0, 0.0, 2.0}});
        std::vector<float> x(static_cast<size_t>(fs), 0.0f);
        run(fb, x, 512, 512);
        fb.setBands(std::vector<Band>{{BandType::Peak, f0, 12.0, 2.0}});
        // the ramp starts at the next control point and lasts 100 ms (4800 samples)
        const int start = 512 + (fb.controlInterval() - 512 % fb.controlInterval()) % fb.controlInterval();
        double previous = 0.0, worstDrop = 0.0, worstPath = 0.0;
        for (int done = 512; done < 512 + 9600; done += block) {
            run(fb, x, block, block);
            fb.appliedResponseDb(&f0, &db, 1);
            worstDrop = std::fmax(worstDrop, previous - db);
            previous = db;
            const int at = done + block;  // samples processed so far
            if (at >= start) {
                // the gain in dB at the peak: exact at control points (absolute positions), where it
                // is 12 dB x (time since the start) / 100 ms, at most 12; linear in between
                const int k = fb.controlInterval();
                const int before = (at - start) / k * k;
                const auto gainAt = [](int t) { return 12.0 * std::fmin(1.0, t / 4800.0); };
                const double expected = gainAt(before) + (gainAt(before + k) - gainAt(before)) * (at - start - before) / k;
                worstPath = std::fmax(worstPath, std::fabs(db - expected));
            }
        }
        CHECK(worstDrop <= 1e-12, "block %d: the applied response fell by %g dB during a rising ramp", block,
              worstDrop);
        // between control points the coefficients, not the dB, move linearly: a small bend
        CHECK(worstPath < 0.01, "block %d: %g dB off the ramp's path", block, worstPath);
        const double target = fb.responseDb(f0);
        CHECK(db == target, "block %d: %.17g dB applied after the ramp, target %.17g", block, db, target);
    }
}

// appliedResponseDb through a coefficient crossfade (a peak becomes a high shelf), a peak switched off
// and a shelf switched on (gain ramps), a new target posted mid-ramp and a reset mid-ramp: it moves by
// little from one 7-sample block to the next, and it lands exactly on the target.
TEST(filter_bank, applied_response_during_crossfades_restarts_and_resets) {
    const double fs = 48000.0;
    const double freqs[3] = {2000.0, 9000.0, 300.0};
    const std::vector<Band> start = {{BandType::Peak, 2000.0, 9.0, 1.0}, {BandType::Peak, 300.0, -6.0, 2.0}};
    const std::vector<Band> crossfade = {{BandType::HighShelf, 4000.0, -9.0, semeq::kShelfQ}};
    const std::vector<Band> restart = {{BandType::HighShelf, 4000.0, 6.0, semeq::kShelfQ},
                                       {BandType::LowShelf, 200.0, 6.0, semeq::kShelfQ}};
    FilterBank fb(fs, 2, 4, 20.0);
    fb.setBands(start);
    const std::vector<float> x(2 * 7, 0.0f);
    run(fb, x, 7, 7);
    fb.setBands(crossfade);
    double previous[3], now[3], worstStep = 0.0;
    fb.appliedResponseDb(freqs, previous, 3);
    for (int block = 0; block < 300; ++block) {  // 2100 samples: a restart at 350, both ramps done by ~1400
        if (block == 50) fb.setBands(restart);
        run(fb, x, 7, 7);
        fb.appliedResponseDb(freqs, now, 3);
        for (int j = 0; j < 3; ++j) {
            worstStep = std::fmax(worstStep, std::fabs(now[j] - previous[j]));
            previous[j] = now[j];
        }
    }
    // 2 kHz swings by 18 dB over a 20 ms crossfade: 0.13 dB per 7 samples if spread evenly (measured:
    // at most 0.15 dB at 2 kHz, 0.09 at 300 Hz); reading the wrong interval jumps by the change over
    // a whole control interval (128 samples: 2.7 dB)
    CHECK(worstStep < 0.5, "applied response jumped by %g dB between 7-sample blocks", worstStep);
    for (int j = 0; j < 3; ++j)
        CHECK(now[j] == fb.responseDb(freqs[j]), "%g Hz: %.17g dB applied after the ramps, target %.17g",
              freqs[j], now[j], fb.responseDb(freqs[j]));
    fb.setBands(start);
    run(fb, x, 7, 7);  // mid-ramp
    fb.reset();
    fb.setBands(crossfade);  // the first set after a reset applies at once
    run(fb, x, 7, 7);
    fb.appliedResponseDb(freqs, now, 3);
    for (int j = 0; j < 3; ++j)
        CHECK(now[j] == fb.responseDb(freqs[j]), "%g Hz after a reset: %.17g dB applied, target %.17g", freqs[j],
              now[j], fb.responseDb(freqs[j]));
}

#if defined(__x86_64__) || defined(_M_X64)
// process() flushes denormals for its duration and gives the caller back its own MXCSR, whether the
// caller had FTZ/DAZ off (process sets and restores them) or already on (process leaves MXCSR alone).
TEST(filter_bank, process_restores_the_callers_floating_point_mode) {
    const unsigned original = _mm_getcsr();
    const int frames = 512;
    const auto x = noise(2, frames, 6);
    for (unsigned flush : {0u, 0x8040u}) {
        const unsigned caller = (original & ~0x8040u & ~0x3Fu) | flush;
        _mm_setcsr(caller);
        FilterBank fb(48000.0, 2, 16, 20.0);
        fb.setBands(kBands);
        run(fb, x, frames, 64);
        const unsigned after = _mm_getcsr();
        _mm_setcsr(original);
        const unsigned control = ~0x3Fu;  // the exception status flags (bits 0-5) may change
        CHECK((after & control) == (caller & control), "caller MXCSR %#x, after process %#x", caller, after);
    }
}
#endif

TEST(filter_bank, non_finite_input_is_processed_as_zero) {
    const int frames = 4096;
    for (const std::string& isa : semeq::availableIsas()) {
        semeq::setIsa(isa);
        // 4 and 16: the transposing conversions of 4 (avx2) and 8 (avx512) channels at once
        for (int channels : {2, 4, 16}) {
            auto x = noise(channels, frames, 5);
            auto zeroed = x;
            const float bad[] = {NAN, INFINITY, -INFINITY};
            for (int i = 0; i < 3 * channels; ++i) {
                const size_t at = static_cast<size_t>(i / 3) * frames + 100 + i * 37;
                x[at] = bad[i % 3];
                zeroed[at] = 0.0f;
            }
            FilterBank a(48000.0, channels, 16, 20.0), b(48000.0, channels, 16, 20.0);
            a.setBands(kBands);
            b.setBands(kBands);
            const auto ya = run(a, x, frames, 64);
            bool finite = true;
            for (float v : ya) finite = finite && std::isfinite(v);
            CHECK(finite && ya == run(b, zeroed, frames, 64),
                  "isa %s, channels %d: output differs from zero-substituted input", isa.c_str(), channels);
        }
    }
    semeq::setIsa(semeq::availableIsas().back());
}

TEST(filter_bank, invalid_parameters_are_rejected) {
    FilterBank fb(48000.0, 2, 4, 20.0);
    auto rejects = [&](Band b) {
        try {
            fb.setBands({b});
        } catch (const std::invalid_argument&) {
            return true;
        }
        return false;
    };
    CHECK(rejects({BandType::Peak, 24000.0, 0.0, 1.0}), "f = fs/2");
    CHECK(rejects({BandType::Peak, 0.0, 0.0, 1.0}), "f = 0");
    CHECK(rejects({BandType::Peak, NAN, 0.0, 1.0}), "f = NaN");
    CHECK(rejects({BandType::Peak, 1000.0, INFINITY, 1.0}), "gain = inf");
    CHECK(rejects({BandType::Peak, 1000.0, 0.0, 0.0}), "Q = 0");
    CHECK(rejects({static_cast<BandType>(7), 1000.0, 0.0, 1.0}), "type 7");
    CHECK(!rejects({BandType::Peak, 23999.0, 0.0, 1.0}), "f just below fs/2 is accepted");
    bool tooMany = false;
    try {
        fb.setBands(std::vector<Band>(5));
    } catch (const std::invalid_argument&) {
        tooMany = true;
    }
    CHECK(tooMany, "more bands than max_bands");
    bool badBank = false;
    try {
        FilterBank bad(48000.0, 0, 4, 20.0);
    } catch (const std::invalid_argument&) {
        badBank = true;
    }
    CHECK(badBank, "0 channels");
}
