#include "semeq/processor.h"

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "semeq/tonal_balance.h"

namespace semeq {

namespace {

std::string num(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

// std::invalid_argument naming the setting and its range (kOptionRanges) unless `value` lies in it.
void checkRange(const char* name, double value) {
    for (const OptionRange& r : kOptionRanges) {
        if (std::string(name) != r.name) continue;
        const bool ok = std::isfinite(value) && (r.lowIncluded ? value >= r.low : value > r.low) && value <= r.high;
        if (!ok)
            throw std::invalid_argument(std::string(name) + " " + num(value) + " " + r.unit +
                                        " is outside the accepted range " + (r.lowIncluded ? "[" : "(") + num(r.low) +
                                        ", " + num(r.high) + "] " + r.unit);
        return;
    }
}

// Python's round(): half to even (the default floating-point rounding mode)
int64_t roundEven(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

// Poll period of the idle analysis thread: the audio thread signals it through an atomic flag only (no
// system call on the audio path); analyses are seconds apart, so 1 ms of delay is nothing.
constexpr auto kWorkerPoll = std::chrono::milliseconds(1);

// v, or 0 for NaN and +-Inf (a comparison the compiler vectorises, unlike std::isfinite's branch)
inline float finiteOrZero(float v) { return std::fabs(v) <= std::numeric_limits<float>::max() ? v : 0.0f; }

}  // namespace

Processor::Processor(const ProcessorOptions& options, std::shared_ptr<AnalysisModel> model, const double* centre,
                     const double* spread, double intensity)
    : options_(options),
      model_(std::move(model)),
      dim_(model_ ? model_->latentDim() : 0),
      correction_((checkRange("sample_rate", options.sampleRate), options.sampleRate),
                  options.maxBoostDb, options.maxCutDb),
      bank_(options.sampleRate, options.channels, 16, options.smoothingMs),
      gain_(static_cast<int64_t>(options.smoothingMs * 1e-3 * options.sampleRate)) {
    if (!model_) throw std::invalid_argument("the Processor needs a model");
    if (dim_ < 2 || dim_ > kMaxLatentDim)
        throw std::invalid_argument("latent dimension " + std::to_string(dim_) + " is outside the accepted range 2.." +
                                    std::to_string(kMaxLatentDim));
    checkRange("max_boost_db", options.maxBoostDb);
    checkRange("max_cut_db", options.maxCutDb);
    checkRange("intensity", intensity);
    intensity_ = intensity;
    adaptive_ = options.adaptive;
    compensation_ = options.loudnessCompensation;
    std::array<double, eq::kGridPoints> referencePower{};
    for (int i = 0; i < eq::kGridPoints; ++i) referencePower[i] = std::pow(10.0, options.referenceDb[i] / 10.0);
    referenceWeights_.assign(correction_.points(), 0.0);
    correction_.loudnessWeights(referencePower.data(), referenceWeights_.data());
    if (options.adaptive) {
        checkRange("analysis_interval", options.analysisInterval);
        checkRange("adaptation_time", options.adaptationTime);
        if (!(options.modelSampleRate > 0.0) || options.modelWindow < 1 || options.frameSize < 4 ||
            options.frameHop < 1 || !(options.frameSampleRate > 0.0))
            throw std::invalid_argument("the model's analysis (sample rates, window, frames) must be positive");
        const FrameGeometry frames =
            frameGeometry(options.frameSize, options.frameHop, options.sampleRate, options.frameSampleRate);
        const auto window = roundEven(options.modelWindow * options.sampleRate / options.modelSampleRate);
        meter_ = std::make_unique<SpectrumMeter>(options.sampleRate, frames.nFft, frames.hop, static_cast<int>(window));
        interval_ = std::max<int64_t>(1, roundEven(options.analysisInterval * options.sampleRate));
        adoptDelay_ = std::clamp<int64_t>(roundEven(kAdoptDelayS * options.sampleRate), 1, kMaxAdoptDelay);
        ema_ = 1.0 - std::exp(-options.analysisInterval / options.adaptationTime);
        metering_ = true;
        mid_.assign(kChunk, 0.0f);
        power_.assign(meter_->usedBins(), 0.0);
        workerPower_.assign(meter_->usedBins(), 0.0);
    }
    std::copy(centre, centre + dim_, centre_.begin());
    std::copy(spread, spread + dim_, spread_.begin());
    model_->decode(centre_.data(), 1, targetParams_.data());
    {
        std::lock_guard<std::mutex> lock(controlMutex_);
        resetStream();
        update();
        gain_.reset(gain_.target());  // like the first bands, the first gain applies at once
    }
    if (options.realtime) setRealtime(true);
}

Processor::~Processor() { close(); }

void Processor::close() { setRealtime(false); }

void Processor::setRealtime(bool realtime) {
    std::lock_guard<std::mutex> lock(workerMutex_);
    if (realtime && metering_ && !worker_.joinable()) {
        pending_.store(false);  // (the audio thread sets it only while realtime_ is true)
        stop_.store(false);
        worker_ = std::thread(&Processor::workerLoop, this);
        realtime_.store(true, std::memory_order_release);
    } else if (!realtime && worker_.joinable()) {
        realtime_.store(false, std::memory_order_release);  // from the next analysis on: inside process()
        stop_.store(true);
        worker_.join();
        pending_.store(false);
    }
}

void Processor::setAdaptive(bool adaptive) {
    if (adaptive && !metering_)
        throw std::logic_error("a Processor created in static mode has no analysis: create an adaptive one");
    std::lock_guard<std::mutex> lock(controlMutex_);
    adaptive_ = adaptive;
    update();
}

void Processor::setLoudnessCompensation(bool on) {
    std::lock_guard<std::mutex> lock(controlMutex_);
    compensation_ = on;
    update();
}

void Processor::setAdaptationTime(double seconds) {
    checkRange("adaptation_time", seconds);
    std::lock_guard<std::mutex> lock(controlMutex_);
    ema_ = 1.0 - std::exp(-options_.analysisInterval / seconds);
}

// ------------------------------------------------------------------------------------------------
// control

void Processor::setTarget(const double* centre, const double* spread) {
    std::array<double, eq::kNumParams> params{};
    model_->decode(centre, 1, params.data());  // the model call outside the lock
    std::lock_guard<std::mutex> lock(controlMutex_);
    std::copy(centre, centre + dim_, centre_.begin());
    std::copy(spread, spread + dim_, spread_.begin());
    targetParams_ = params;
    update();
}

void Processor::setIntensity(double intensity) {
    checkRange("intensity", intensity);
    std::lock_guard<std::mutex> lock(controlMutex_);
    intensity_ = intensity;
    update();
}

void Processor::update() {
    double boost, cut, levelChange;
    if (!adaptive_) {
        eq::paramsToBands(targetParams_.data(), options_.sampleRate, intensity_, plan_.bands.data());
        plan_.count = eq::kNumBands;
        correction_.bandsResponseDb(plan_.bands.data(), eq::kNumBands, scratchResponse_.data());
        levelChange = correction_.levelChangeDb(scratchResponse_.data(), referenceWeights_.data());
        const double offset = compensation_ ? levelChange : 0.0;
        const auto& grid = eq::freqGrid();
        boost = -INFINITY, cut = INFINITY;
        for (int i = 0; i < correction_.points(); ++i)
            if (grid[i] >= eq::kAnalysisLowHz && grid[i] <= eq::kAnalysisHighHz) {
                boost = std::max(boost, scratchResponse_[i] - offset);
                cut = std::min(cut, scratchResponse_[i] - offset);
            }
    } else {
        if (!hasAudio_ || intensity_ == 0.0)
            correction_.flat(targetParams_.data(), plan_);  // nothing measured or nothing to apply: flat
        else
            correction_.plan(zAudio_.data(), centre_.data(), spread_.data(), dim_, intensity_, density_.data(), *model_,
                             plan_);
        levelChange = plan_.levelChangeDb;
        const double offset = compensation_ ? 0.0 : levelChange;
        boost = plan_.largestBoostDb + offset;
        cut = plan_.largestCutDb + offset;
    }
    largestBoost_ = std::max(largestBoost_, boost);
    largestCut_ = std::min(largestCut_, cut);
    bank_.setBands(plan_.bands.data(), plan_.count);
    gain_.setTarget(compensation_ ? std::pow(10.0, -levelChange / 20.0) : 1.0);
}

// ------------------------------------------------------------------------------------------------
// streaming

void Processor::process(const float* const* in, float* const* out, int64_t frames) {
    const int channels = options_.channels;
    const float* inAt[kMaxChannels];
    float* outAt[kMaxChannels];
    int64_t done = 0;
    while (done < frames) {
        int64_t n = std::min(kChunk, frames - done);
        if (metering_) n = std::min(n, untilAnalysis_);
        if (untilAdopt_ > 0) n = std::min(n, untilAdopt_);
        for (int c = 0; c < channels; ++c) {
            inAt[c] = in[c] + done;
            outAt[c] = out[c] + done;
        }
        processSegment(inAt, outAt, n);
        done += n;
    }
}

void Processor::processSegment(const float* const* in, float* const* out, int64_t frames) {
    const int channels = options_.channels;
    if (metering_) {
        // the input's mid (mean of the channels, each scaled before the sum, which so never overflows);
        // non-finite samples count as 0, as in the filter bank. Channel by channel with a branch-free
        // test, so that the loops vectorise (5x faster than a sample at a time with branches)
        const float scale = 1.0f / static_cast<float>(channels);
        float* mid = mid_.data();
        for (int64_t i = 0; i < frames; ++i) mid[i] = finiteOrZero(in[0][i]) * scale;
        for (int c = 1; c < channels; ++c) {
            const float* x = in[c];
            for (int64_t i = 0; i < frames; ++i) mid[i] += finiteOrZero(x[i]) * scale;
        }
        for (int64_t i = 0; i < frames; ++i) mid[i] = finiteOrZero(mid[i]);
        meter_->push(mid_.data(), frames);
    }
    bank_.process(in, out, frames);
    gain_.apply(out, channels, frames);
    const int64_t seen = samplesSeen_.load(std::memory_order_relaxed) + frames;
    samplesSeen_.store(seen, std::memory_order_relaxed);
    if (untilAdopt_ > 0 && (untilAdopt_ -= frames) == 0) adoptStaged();
    if (metering_) {
        untilAnalysis_ -= frames;
        if (untilAnalysis_ == 0) {
            untilAnalysis_ = nextAnalysisAfter(seen);
            startAnalysis(seen < meter_->windowSamples());
        }
    }
}

int64_t Processor::nextAnalysisAfter(int64_t position) const noexcept {
    const int64_t window = meter_->windowSamples();
    for (double seconds : kEarlyAnalysesS) {
        const int64_t early = roundEven(seconds * options_.sampleRate);
        if (position < early && early < window) return early - position;
    }
    return position < window ? window - position : interval_;
}

void Processor::startAnalysis(bool growing) {
    SpectrumMeter::Window window;
    if (!meter_->latestWindow(&window)) return;
    if (!realtime_.load(std::memory_order_acquire)) {
        if (!meter_->meanPower(window, power_.data())) return;
        if (untilAdopt_ > 0) adoptStaged();  // (an interval shorter than the delay, at low rates)
        if (measureLatent(power_.data(), growing, staged_)) untilAdopt_ = adoptDelay_;
    } else if (pending_.load(std::memory_order_acquire)) {
        skipped_.fetch_add(1, std::memory_order_relaxed);  // the thread is still on the previous window
    } else {
        // the analysis thread averages the window's frames itself (SpectrumMeter::claim)
        pendingWindow_ = window;
        pendingGrowing_ = growing;
        pending_.store(true, std::memory_order_release);
    }
}

bool Processor::measureLatent(const double* power, bool growing, Measurement& out) {
    std::array<double, eq::kGridPoints> density{}, averaged{}, balance{};
    meter_->density(power, density.data());
    for (double d : density)
        if (!std::isfinite(d)) return false;
    std::array<double, kMaxLatentDim> start{};
    bool hasStart;
    {
        std::lock_guard<std::mutex> lock(controlMutex_);
        if (!hasDensity_ || growing) {
            density_ = density;  // a growing window holds the whole stream so far: it replaces the average
        } else {
            for (int i = 0; i < eq::kGridPoints; ++i) density_[i] = density_[i] + ema_ * (density[i] - density_[i]);
        }
        hasDensity_ = true;
        out.generation = ++generation_;
        averaged = density_;
        hasStart = hasAudio_;
        start = zAudio_;
    }
    // the model call outside the lock
    int first, last;
    out.content = balance::contentSpan(averaged.data() + eq::analysisFirst(), &first, &last);
    out.z.fill(0.0);
    if (out.content) {
        balance::balanceFromDensity(averaged.data() + eq::analysisFirst(), options_.referenceDb.data(), first, last,
                                    balance.data());
        model_->measure(balance.data(), hasStart ? start.data() : nullptr, out.z.data());
    }
    return true;
}

void Processor::adopt(const Measurement& measured) {
    std::lock_guard<std::mutex> lock(controlMutex_);
    if (generation_ != measured.generation) return;  // reset or primed meanwhile
    hasAudio_ = measured.content;
    zAudio_ = measured.z;
    analyses_.fetch_add(1, std::memory_order_relaxed);
    update();
}

void Processor::adoptStaged() {
    untilAdopt_ = -1;
    if (realtime_.load(std::memory_order_acquire))
        skipped_.fetch_add(1, std::memory_order_relaxed);  // switched to realtime meanwhile: no lock here now
    else
        adopt(staged_);
}

void Processor::prime(const float* const* in, int64_t frames) {
    if (!metering_) return;
    const int channels = options_.channels;
    const int64_t window = meter_->windowSamples();
    std::vector<double> mid(std::max<int64_t>(frames, window), 0.0);
    for (int64_t i = 0; i < frames; ++i) {
        double sum = 0.0;
        for (int c = 0; c < channels; ++c) sum += static_cast<double>(in[c][i]);
        const double mean = sum / channels;
        mid[i] = std::isfinite(mean) ? mean : 0.0;
    }
    // windows every analysis interval (a short clip: one zero-padded window), their densities averaged
    const int64_t step = std::max<int64_t>(1, interval_);
    const int64_t count = (static_cast<int64_t>(mid.size()) - window) / step + 1;
    std::array<double, eq::kGridPoints> density{}, one{}, balance{};
    for (int64_t k = 0; k < count; ++k) {
        meter_->signalDensity(mid.data() + k * step, window, one.data());
        for (int i = 0; i < eq::kGridPoints; ++i) density[i] += one[i];
    }
    for (double& d : density) d /= static_cast<double>(count);
    std::array<double, kMaxLatentDim> z{};
    int first, last;
    const bool content = balance::contentSpan(density.data() + eq::analysisFirst(), &first, &last);
    if (content) {
        balance::balanceFromDensity(density.data() + eq::analysisFirst(), options_.referenceDb.data(), first, last,
                                    balance.data());
        model_->measure(balance.data(), nullptr, z.data());  // the model call before the lock
    }
    std::lock_guard<std::mutex> lock(controlMutex_);
    const bool atOnce = samplesSeen_.load() == 0;
    if (atOnce) {
        bank_.reset();                // the next setBands applies at once
        untilAnalysis_ = window;      // no early analyses: the primed one is better
    }
    density_ = density;
    hasDensity_ = true;
    ++generation_;
    hasAudio_ = content;
    zAudio_ = z;
    update();
    if (atOnce) gain_.reset(gain_.target());
}

void Processor::reset() {
    bank_.reset();
    std::lock_guard<std::mutex> lock(controlMutex_);
    resetStream();
    update();
    gain_.reset(gain_.target());
}

void Processor::resetStream() {
    samplesSeen_.store(0);
    analyses_.store(0);
    skipped_.store(0);
    hasDensity_ = hasAudio_ = false;
    ++generation_;
    largestBoost_ = largestCut_ = 0.0;
    untilAdopt_ = -1;
    if (metering_) {
        meter_->reset();
        untilAnalysis_ = nextAnalysisAfter(0);
    }
}

void Processor::workerLoop() {
    while (!stop_.load(std::memory_order_relaxed)) {
        if (!pending_.load(std::memory_order_acquire)) {
            std::this_thread::sleep_for(kWorkerPoll);
            continue;
        }
        try {
            bool averaged = false;
            if (meter_->claim(pendingWindow_)) {
                averaged = meter_->meanPower(pendingWindow_, workerPower_.data());
                meter_->release();
            }
            Measurement measured;
            if (!averaged)
                skipped_.fetch_add(1, std::memory_order_relaxed);  // the stream overwrote or dropped a frame of it
            else if (measureLatent(workerPower_.data(), pendingGrowing_, measured))
                adopt(measured);
        } catch (const abi::__forced_unwind&) {
            throw;  // the thread is being cancelled (e.g. a Python model call at interpreter exit)
        } catch (...) {
            // a failed model call drops this analysis; the EQ stays as it is
        }
        pending_.store(false, std::memory_order_release);
    }
}

// ------------------------------------------------------------------------------------------------
// getters

double Processor::intensity() const {
    std::lock_guard<std::mutex> lock(controlMutex_);
    return intensity_;
}

int Processor::eqBands(Band* out) const {
    std::lock_guard<std::mutex> lock(controlMutex_);
    std::copy(plan_.bands.begin(), plan_.bands.begin() + plan_.count, out);
    return plan_.count;
}

bool Processor::audioLatent(double* out) const {
    std::lock_guard<std::mutex> lock(controlMutex_);
    if (hasAudio_) std::copy(zAudio_.begin(), zAudio_.begin() + dim_, out);
    return hasAudio_;
}

bool Processor::contentSpanHz(double* low, double* high) const {
    std::array<double, eq::kGridPoints> density;
    {
        std::lock_guard<std::mutex> lock(controlMutex_);
        if (!hasDensity_) return false;
        density = density_;
    }
    int first, last;
    if (!balance::contentSpan(density.data() + eq::analysisFirst(), &first, &last)) return false;
    *low = eq::freqGrid()[eq::analysisFirst() + first];
    *high = eq::freqGrid()[eq::analysisFirst() + last];
    return true;
}

double Processor::largestBoostDb() const {
    std::lock_guard<std::mutex> lock(controlMutex_);
    return largestBoost_;
}

double Processor::largestCutDb() const {
    std::lock_guard<std::mutex> lock(controlMutex_);
    return largestCut_;
}

double Processor::outputGainDb() const noexcept { return 20.0 * std::log10(gain_.published()); }

void Processor::appliedResponseDb(const double* freqs, double* out, int64_t count) const {
    for (int64_t j = 0; j < count; ++j)
        if (!(freqs[j] > 0.0 && freqs[j] < options_.sampleRate / 2.0))
            throw std::invalid_argument("frequencies must lie in (0, " + num(options_.sampleRate / 2.0) + ") Hz");
    if (samplesSeen_.load() == 0) {  // before the first block: the EQ that block applies at once
        std::lock_guard<std::mutex> lock(controlMutex_);
        const double gain = 20.0 * std::log10(gain_.target());
        for (int64_t j = 0; j < count; ++j) out[j] = bank_.responseDb(freqs[j]) + gain;
        return;
    }
    bank_.appliedResponseDb(freqs, out, count);
    const double gain = outputGainDb();
    for (int64_t j = 0; j < count; ++j) out[j] += gain;
}

}  // namespace semeq
