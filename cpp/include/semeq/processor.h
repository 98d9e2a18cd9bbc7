// semeq::Processor — the real-time semantic EQ engine that every face uses (the Python
// semeq_rt.Processor binds it; plugins link it).
//
// Adaptive mode: the word's target (a latent centre and its human spread, setTarget) and the input's
// measured balance give a bounded EQ (semeq/correction.h) realised in one filter bank of 12 bands, with
// an output gain that undoes the EQ's loudness change. The balance is measured on the input's mid: STFT
// frames as the stream completes them (semeq/spectrum_meter.h), the latest window's mean periodogram as
// a 1/3-octave density, averaged over time (adaptationTime) and turned into a tonal balance where the
// audio has content (semeq/tonal_balance.h), whose latent the model gives (semeq/analysis_model.h).
// The first analyses come at 0.4, 1 and 2 s on the window that has arrived so far (each replaces the
// last), then one when the full window has arrived and every analysisInterval from there on.
// Static mode applies the word's own EQ (its centre decoded) with gains x intensity: 5 bands.
//
// Schedules. Deterministic (realtime = false): an analysis runs inside process() at fixed stream
// positions (the measurement where its window ends, the EQ it gives adoptDelaySamples() later), so the
// output does not depend on the block size. Realtime: process() hands the window (which frames it
// holds: SpectrumMeter::Window) to the engine's analysis thread with an atomic flag and never waits; the
// thread averages the frames and runs the model; an analysis that comes while the thread is still busy
// (or whose frames the stream overwrote before the thread claimed them) is skipped.
//
// Threads. process(), prime() and reset() belong to one audio thread (prime and reset may also be called
// while process() is not running). setTarget(), setIntensity() and every getter may be called from any
// other thread while process() runs. process() never allocates, and in the realtime schedule takes no
// lock and makes no system call; in the deterministic schedule the analysis step takes the control lock
// (which control calls hold while they recompute the EQ) and calls the model.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "semeq/analysis_model.h"
#include "semeq/correction.h"
#include "semeq/eq_layout.h"
#include "semeq/filter_bank.h"
#include "semeq/gain_ramp.h"
#include "semeq/spectrum_meter.h"

namespace semeq {

// The engine's numeric settings and the ranges it accepts: the one definition, which semeq_rt.processor's
// OPTION_RANGES and semeq_rt.validate's sample-rate range read from the binding.
struct OptionRange {
    const char* name;
    double low, high;
    bool lowIncluded;  // [low, high] or (low, high]
    const char* unit;
};
inline constexpr OptionRange kOptionRanges[] = {
    {"sample_rate", 8000.0, 192000.0, true, "Hz"},
    {"smoothing_ms", 0.0, FilterBank::kMaxSmoothingMs, true, "ms"},  // FilterBank checks this one
    {"analysis_interval", 0.1, 60.0, true, "s"},  // below 0.1 s nearly every frame would be analysed
    {"adaptation_time", 0.0, 3600.0, false, "s"},
    {"max_boost_db", 0.0, 48.0, false, "dB"},
    {"max_cut_db", 0.0, 48.0, false, "dB"},
    {"intensity", -1.0, 1.0, true, ""},
};

struct ProcessorOptions {
    double sampleRate = 48000.0;
    int channels = 2;
    bool adaptive = true;
    bool realtime = false;
    bool loudnessCompensation = true;
    double smoothingMs = 20.0;
    double analysisInterval = 2.0;   // s (ranges: kOptionRanges)
    double adaptationTime = 8.0;     // s
    double maxBoostDb = kDefaultMaxBoostDb;
    double maxCutDb = kDefaultMaxCutDb;
    // The analysis as the model defines it (the bundle manifest): its window (samples at modelSampleRate)
    // and its STFT frames (frameSize samples, frameHop apart, at frameSampleRate); both are converted to
    // sampleRate (frameGeometry).
    double modelSampleRate = 48000.0;
    int modelWindow = 131072;
    int frameSize = 4096;
    int frameHop = 4096;
    double frameSampleRate = 48000.0;
    // The neutral reference (dB on the response grid) the balance is measured against.
    std::array<double, eq::kGridPoints> referenceDb{};
};

class Processor {
public:
    // Stream positions (s) of the first analyses, on the window measured so far.
    static constexpr double kEarlyAnalysesS[3] = {0.4, 1.0, 2.0};
    // Deterministic schedule: an analysis's EQ takes effect adoptDelaySamples() after its window ends,
    // kAdoptDelayS but at most kMaxAdoptDelay samples (2048 from 45.5 kHz on), so that with blocks of up
    // to that many frames the measurement and the EQ's recomputation run in different process() calls
    // (a block pays for one of the two model calls), and a stream's first EQ still comes within 0.5 s.
    static constexpr double kAdoptDelayS = 0.045;
    static constexpr int64_t kMaxAdoptDelay = 2048;
    static constexpr int kMaxChannels = FilterBank::kMaxChannels;

    // The word's latent centre and human spread (model->latentDim() values each) and the intensity, as
    // setTarget / setIntensity take them. Throws std::invalid_argument for options out of range (the
    // message names the option and the accepted range). The Processor shares the model.
    Processor(const ProcessorOptions& options, std::shared_ptr<AnalysisModel> model, const double* centre,
              const double* spread, double intensity);
    ~Processor();
    Processor(const Processor&) = delete;
    Processor& operator=(const Processor&) = delete;

    // control (any thread)
    // The word: its latent centre and spread (latentDim values each); decodes the centre (model call).
    void setTarget(const double* centre, const double* spread);
    // intensity in [-1, 1]: 0 the identity, 1 all the way into the word's range, < 0 away from the word.
    void setIntensity(double intensity);
    // Adaptive or static EQ. A Processor created adaptive keeps measuring in static mode (switching back
    // is immediate); one created static has no analysis and refuses adaptive (std::logic_error).
    void setAdaptive(bool adaptive);
    void setLoudnessCompensation(bool on);
    // The moving average's time constant (s), (0, 3600]; applies from the next analysis.
    void setAdaptationTime(double seconds);
    // Start or stop the engine's analysis thread (e.g. a host switching between live and offline
    // rendering); a Processor created static has none. Allocates when it starts the thread: not from
    // the audio thread. close() is setRealtime(false).
    void setRealtime(bool realtime);

    // streaming (audio thread). in[c] -> out[c], in place allowed. Non-finite input samples count as 0.
    void process(const float* const* in, float* const* out, int64_t frames);
    // Measure audio (channels x frames) as if it had preceded the stream; before the first block the
    // primed EQ applies at once. Static mode: nothing. Allocates (not for a real-time thread).
    void prime(const float* const* in, int64_t frames);
    // Forget the stream: filter state, frames, measured balance.
    void reset();
    // Stop the analysis thread (realtime schedule), waiting for an analysis in progress; later analyses
    // run inside process(). Audio thread, or while process() is not running.
    void close();

    // getters (any thread)
    // The options the Processor was created with (setAdaptive etc. change the state, not these).
    const ProcessorOptions& options() const noexcept { return options_; }
    double intensity() const;
    int latentDim() const noexcept { return dim_; }
    int eqBands(Band* out) const;               // the bands handed to the filter bank now (<= 12)
    bool audioLatent(double* out) const;        // false before the first measurement and for silence
    bool contentSpanHz(double* low, double* high) const;  // within the analysis band; false if none
    double largestBoostDb() const;
    double largestCutDb() const;
    double outputGainDb() const noexcept;
    // dB response at freqs (in (0, fs/2)) of the EQ being applied now, output gain included.
    void appliedResponseDb(const double* freqs, double* out, int64_t count) const;
    int64_t analyses() const noexcept { return analyses_.load(); }
    int64_t skippedAnalyses() const noexcept { return skipped_.load(); }
    int64_t samplesSeen() const noexcept { return samplesSeen_.load(); }
    int analysisWindowSamples() const noexcept { return meter_ ? meter_->windowSamples() : 0; }
    int analysisIntervalSamples() const noexcept { return metering_ ? static_cast<int>(interval_) : 0; }
    int64_t adoptDelaySamples() const noexcept { return adoptDelay_; }
    bool realtimeRunning() const noexcept { return realtime_.load(); }

private:
    void processSegment(const float* const* in, float* const* out, int64_t frames);
    int64_t nextAnalysisAfter(int64_t position) const noexcept;
    void startAnalysis(bool growing);
    // An analysis in two steps: the window's latent (the density's average under the control lock, the
    // model's measure outside it), then the EQ's recomputation for it (the lock, the model's decode).
    struct Measurement {
        uint64_t generation = 0;  // generation_ when measured: a reset or prime since drops it
        bool content = false;
        std::array<double, kMaxLatentDim> z{};
    };
    bool measureLatent(const double* power, bool growing, Measurement& out);  // false: a non-finite density
    void adopt(const Measurement& measured);
    void adoptStaged();                                // audio thread, deterministic schedule
    void update();                                     // control lock held
    void resetStream();                                // control lock held
    void workerLoop();

    ProcessorOptions options_;
    bool metering_ = false;  // created adaptive: the stream is measured (whatever the mode now)
    std::shared_ptr<AnalysisModel> model_;
    int dim_;
    int64_t interval_ = 0;
    double ema_ = 0.0;
    Correction correction_;
    FilterBank bank_;
    GainRamp gain_;
    std::unique_ptr<SpectrumMeter> meter_;
    std::vector<double> referenceWeights_;

    // control state (controlMutex_)
    mutable std::mutex controlMutex_;
    std::array<double, kMaxLatentDim> centre_{}, spread_{}, zAudio_{};
    std::array<double, eq::kNumParams> targetParams_{};
    std::array<double, eq::kGridPoints> density_{};
    bool hasDensity_ = false, hasAudio_ = false;
    uint64_t generation_ = 0;  // bumped whenever density_ is replaced or the stream forgotten
    double intensity_ = 1.0;
    bool adaptive_ = true, compensation_ = true;
    double largestBoost_ = 0.0, largestCut_ = 0.0;
    Plan plan_;
    std::array<double, eq::kGridPoints> scratchResponse_{};

    // audio thread
    std::atomic<int64_t> samplesSeen_{0};
    int64_t untilAnalysis_ = 0;
    static constexpr int64_t kChunk = 4096;  // frames per pass (the mid buffer's size)
    int64_t adoptDelay_ = 1;  // see kAdoptDelayS
    Measurement staged_;      // measured, waiting for its position
    int64_t untilAdopt_ = -1;  // samples until staged_ takes effect; -1: none staged
    std::vector<float> mid_;
    std::vector<double> power_;

    // analysis counts
    std::atomic<int64_t> analyses_{0}, skipped_{0};

    // realtime schedule: worker_ belongs to the control calls (workerMutex_); the audio thread reads realtime_
    std::mutex workerMutex_;
    std::thread worker_;
    std::atomic<bool> realtime_{false}, stop_{false}, pending_{false};
    SpectrumMeter::Window pendingWindow_;  // handed over with pending_
    bool pendingGrowing_ = false;
    std::vector<double> workerPower_;     // the analysis thread's mean periodogram
};

}  // namespace semeq
