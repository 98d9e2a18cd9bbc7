// semeq::Processor without Python: sample-exact streaming, the identity at intensity 0, no allocation
// after construction in either schedule (every operator new of the binary counted, all threads), control
// calls from another thread while process() runs (the ThreadSanitizer build runs this suite),
// processors in parallel threads giving the serial output, and the spectrum meter's claims (a window the
// analysis thread averages stays as it was handed over). The model is a small fixed linear map (the
// engine's interface is the point here; tests/test_processor.py runs the bundle's ONNX models).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "harness.h"
#include "linear_model.h"
#include "semeq/processor.h"
#include "semeq/spectrum_meter.h"

namespace {

std::atomic<bool> gCounting{false};
std::atomic<long> gAllocations{0};

void* counted(std::size_t size) {
    if (gCounting.load(std::memory_order_relaxed)) gAllocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return counted(size); }
void* operator new[](std::size_t size) { return counted(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return counted(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t& t) noexcept { return operator new(size, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using semeq::testing::kBright;
using semeq::testing::kDim;
using semeq::testing::kRate;
using semeq::testing::kSpread;
using semeq::testing::kWarm;
using semeq::testing::LinearModel;

semeq::ProcessorOptions options(bool realtime, bool adaptive = true) {
    semeq::ProcessorOptions o;
    o.sampleRate = kRate;
    o.channels = 2;
    o.realtime = realtime;
    o.adaptive = adaptive;
    o.loudnessCompensation = adaptive;
    o.analysisInterval = 0.5;
    o.adaptationTime = 2.0;
    o.modelSampleRate = kRate;
    o.modelWindow = 32768;
    o.frameSize = 4096;
    o.frameHop = 4096;
    o.frameSampleRate = kRate;
    return o;  // a flat reference
}

// Stereo noise, dark (one-pole low-passed), `seconds` long: [channel][sample].
std::vector<std::vector<float>> darkNoise(double seconds, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    const auto n = static_cast<size_t>(seconds * kRate);
    std::vector<std::vector<float>> x(2, std::vector<float>(n));
    for (auto& channel : x) {
        float state = 0.0f;
        for (float& v : channel) v = state = 0.97f * state + normal(rng);
    }
    return x;
}

// Streams x through p in blocks of the sizes in `blocks` (cycled) into y (allocated by the caller).
void stream(semeq::Processor& p, const std::vector<std::vector<float>>& x, const std::vector<int64_t>& blocks,
            std::vector<std::vector<float>>& y) {
    int64_t at = 0;
    size_t k = 0;
    while (at < static_cast<int64_t>(x[0].size())) {
        const int64_t n = std::min<int64_t>(blocks[k++ % blocks.size()], x[0].size() - at);
        const float* in[2] = {x[0].data() + at, x[1].data() + at};
        float* out[2] = {y[0].data() + at, y[1].data() + at};
        p.process(in, out, n);
        at += n;
    }
}

std::vector<std::vector<float>> run(semeq::Processor& p, const std::vector<std::vector<float>>& x,
                                    const std::vector<int64_t>& blocks) {
    std::vector<std::vector<float>> y(2, std::vector<float>(x[0].size()));
    stream(p, x, blocks, y);
    return y;
}

}  // namespace

TEST(processor, output_does_not_depend_on_the_block_size) {
    const auto x = darkNoise(4.0, 1);
    std::vector<std::vector<float>> first;
    for (const std::vector<int64_t>& blocks : {std::vector<int64_t>{512}, {1, 7, 4096, 333}, {48000 * 4}}) {
        semeq::Processor p(options(false), std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
        const auto y = run(p, x, blocks);
        CHECK(p.analyses() > 3, "analyses %lld", static_cast<long long>(p.analyses()));
        if (first.empty())
            first = y;
        else
            CHECK(y == first, "output differs with another split of the stream");
    }
    double diff = 0.0;
    for (size_t i = 0; i < x[0].size(); ++i) diff = std::max(diff, std::fabs(double(first[0][i]) - x[0][i]));
    CHECK(diff > 1e-3, "the EQ changed nothing (%g)", diff);
}

TEST(processor, intensity_zero_is_the_identity) {
    const auto x = darkNoise(3.0, 2);
    semeq::Processor p(options(false), std::make_shared<LinearModel>(), kWarm, kSpread, 0.0);
    const auto y = run(p, x, {512});
    CHECK(y == x, "intensity 0 changed the audio");
    CHECK(p.analyses() > 0, "no analysis ran");
}

TEST(processor, no_allocation_after_construction_in_either_schedule) {
    const auto x = darkNoise(20.0, 3);
    for (bool realtime : {false, true}) {
        auto model = std::make_shared<LinearModel>();
        semeq::Processor p(options(realtime), model, kWarm, kSpread, 1.0);
        std::vector<std::vector<float>> y(2, std::vector<float>(x[0].size()));
        const std::vector<int64_t> blocks{512, 128, 1000};
        std::atomic<bool> done{false};
        gAllocations.store(0);
        std::thread control([&] {  // term and intensity changes while blocks and analyses run
            int k = 0;
            while (!done.load()) {
                p.setTarget(k % 2 ? kWarm : kBright, kSpread);
                p.setIntensity((k % 5) / 4.0);
                double freqs[3] = {100.0, 1000.0, 10000.0}, response[3];
                p.appliedResponseDb(freqs, response, 3);
                ++k;
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
        gCounting.store(true);  // from here: the stream, its analyses, and the control thread's calls
        { std::vector<int> probe(4); (void)probe; }  // the counter counts (one allocation)
        CHECK(gAllocations.exchange(0) == 1, "the allocation counter missed an allocation");
        stream(p, x, blocks, y);
        done.store(true);
        control.join();
        gCounting.store(false);
        CHECK(gAllocations.load() == 0, "%s: %ld allocations after construction", realtime ? "realtime" : "deterministic",
              gAllocations.load());
        CHECK(model->calls.load() > 10, "%s: %d analyses", realtime ? "realtime" : "deterministic", model->calls.load());
        bool finite = true;
        for (const auto& channel : y)
            for (float v : channel) finite = finite && std::isfinite(v);
        CHECK(finite, "non-finite output");
    }
}

TEST(processor, realtime_control_from_another_thread_and_close_while_busy) {
    const auto x = darkNoise(6.0, 4);
    for (int round = 0; round < 3; ++round) {
        auto p = std::make_unique<semeq::Processor>(options(true), std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
        std::atomic<bool> done{false};
        std::thread control([&] {
            for (int k = 0; !done.load(); ++k) {
                p->setIntensity(k % 3 / 2.0);
                p->setTarget(k % 2 ? kWarm : kBright, kSpread);
                p->setAdaptive(k % 7 != 0);
                p->setLoudnessCompensation(k % 5 != 0);
                if (k % 50 == 25) p->setRealtime(k % 100 != 25);  // the schedule switched while blocks run
                (void)p->largestBoostDb();
                (void)p->outputGainDb();
                double z[kDim];
                (void)p->audioLatent(z);
            }
        });
        run(*p, x, {256});
        done.store(true);
        control.join();
        if (round == 1) p->close();
        p.reset();  // deletion while the analysis thread may be busy
    }
}

TEST(processor, parallel_processors_give_the_serial_output) {
    const auto x = darkNoise(3.0, 5);
    std::vector<std::vector<std::vector<float>>> serial, parallel(4);
    for (int i = 0; i < 4; ++i) {
        semeq::Processor p(options(false), std::make_shared<LinearModel>(), i % 2 ? kWarm : kBright, kSpread, 0.25 * (i + 1));
        serial.push_back(run(p, x, {512}));
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] {
            semeq::Processor p(options(false), std::make_shared<LinearModel>(), i % 2 ? kWarm : kBright, kSpread,
                               0.25 * (i + 1));
            parallel[i] = run(p, x, {512});
        });
    for (auto& t : threads) t.join();
    for (int i = 0; i < 4; ++i) CHECK(parallel[i] == serial[i], "processor %d differs from its serial run", i);
}

TEST(processor, a_claimed_window_stays_as_it_was_handed_over) {
    // what the realtime schedule relies on: the analysis thread averages a window while the stream goes on
    semeq::SpectrumMeter meter(kRate, 4096, 4096, 32768);  // 8 frames a window
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<float> frame(4096);
    auto pushFrames = [&](int count) {
        for (int i = 0; i < count; ++i) {
            for (float& v : frame) v = normal(rng);
            meter.push(frame.data(), static_cast<int64_t>(frame.size()));
        }
    };
    std::vector<double> handed(meter.usedBins()), later(meter.usedBins()), latest(meter.usedBins());
    pushFrames(10);
    semeq::SpectrumMeter::Window window;
    CHECK(meter.latestWindow(&window) && window.count == 8, "no window of 8 frames");
    CHECK(meter.meanPower(window, handed.data()) && meter.meanPower(latest.data()) && handed == latest,
          "the window's mean differs from the latest one's");
    CHECK(meter.claim(window), "a fresh window could not be claimed");
    pushFrames(200);  // far more than the ring holds: frames that would overwrite the claimed ones are dropped
    CHECK(meter.meanPower(window, later.data()) && later == handed, "a claimed frame changed");
    meter.release();
    CHECK(!meter.meanPower(latest.data()), "a window of dropped frames was averaged");
    pushFrames(8);
    CHECK(meter.meanPower(latest.data()), "the stream did not recover after the claim");
    CHECK(meter.latestWindow(&window), "no window");
    pushFrames(100);  // the stream overwrites the window before it is claimed
    CHECK(!meter.claim(window), "an overwritten window was claimed");
    CHECK(meter.claim(semeq::SpectrumMeter::Window{window.end + 100, window.index + 100, 8}), "the claim stuck");
    meter.release();
}

TEST(processor, options_out_of_range_are_refused) {
    auto o = options(false);
    o.analysisInterval = 0.01;
    bool refused = false;
    try {
        semeq::Processor p(o, std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
    } catch (const std::invalid_argument& e) {
        refused = std::string(e.what()).find("analysis_interval") != std::string::npos;
    }
    CHECK(refused, "analysis_interval 0.01 s accepted");
    semeq::Processor p(options(false), std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
    refused = false;
    try {
        p.setIntensity(1.5);
    } catch (const std::invalid_argument&) {
        refused = true;
    }
    CHECK(refused && p.intensity() == 1.0, "intensity 1.5 accepted");
}

TEST(processor, modes_compensation_and_schedules_switch_while_processing) {
    // a plugin's parameters: mode, loudness compensation, adaptation time, and the host's offline switch
    const auto x = darkNoise(12.0, 6);
    semeq::Processor p(options(false), std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
    std::vector<std::vector<float>> y(2, std::vector<float>(x[0].size()));
    const int64_t third = static_cast<int64_t>(x[0].size() / 3);
    std::vector<std::vector<float>> part(2, std::vector<float>(third));
    auto streamPart = [&](int k) {
        for (int c = 0; c < 2; ++c) std::copy(x[c].begin() + k * third, x[c].begin() + (k + 1) * third, part[c].begin());
        std::vector<std::vector<float>> out(2, std::vector<float>(third));
        stream(p, part, {512}, out);
        return out;
    };
    streamPart(0);
    const int64_t before = p.analyses();
    CHECK(before > 3 && p.outputGainDb() != 0.0, "adaptive: %lld analyses, gain %g dB", static_cast<long long>(before),
          p.outputGainDb());

    p.setRealtime(true);  // live
    p.setAdaptive(false);
    p.setLoudnessCompensation(false);
    p.setAdaptationTime(1.0);
    streamPart(1);
    semeq::Band bands[semeq::Plan::kBands];
    const int count = p.eqBands(bands);
    CHECK(count == semeq::eq::kNumBands && bands[0].type == semeq::BandType::LowShelf,
          "static mode hands over the word's five bands (%d)", count);
    CHECK(p.outputGainDb() == 0.0, "compensation off: output gain %g dB", p.outputGainDb());
    CHECK(p.realtimeRunning() && p.analyses() > before, "realtime: analyses go on in static mode (%lld)",
          static_cast<long long>(p.analyses()));

    p.setRealtime(false);  // offline again
    p.setAdaptive(true);
    p.setLoudnessCompensation(true);
    const auto last = streamPart(2);
    CHECK(!p.realtimeRunning() && p.eqBands(bands) == semeq::Plan::kBands, "adaptive again: 12 bands");
    bool finite = true;
    for (const auto& channel : last)
        for (float v : channel) finite = finite && std::isfinite(v);
    CHECK(finite, "non-finite output");

    semeq::Processor fixed(options(false, false), std::make_shared<LinearModel>(), kWarm, kSpread, 1.0);
    bool refused = false;
    try {
        fixed.setAdaptive(true);
    } catch (const std::logic_error&) {
        refused = true;
    }
    fixed.setRealtime(true);
    CHECK(refused && !fixed.realtimeRunning(), "a static-only Processor became adaptive or started a thread");
}
