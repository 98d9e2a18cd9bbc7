// semeq::FilterBank — a cascade of up to `maxBands` RBJ biquads applied to `channels` channels,
// float32 audio in and out, float64 coefficients and state, with per-sample coefficient smoothing.
//
// Threads: process() and reset() belong to the audio thread; setBands() may be called from one other
// (control) thread at a time while process() runs: the new parameter set is handed over lock-free.
// process() never allocates, locks or blocks. See docs/dsp.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "semeq/rbj.h"

namespace semeq {

struct Band {
    BandType type = BandType::Peak;
    double freq = 1000.0;   // Hz, strictly inside (0, sampleRate/2)
    double gainDb = 0.0;    // dB, within ±kMaxGainDb (ignored by low-pass/high-pass)
    double q = kShelfQ;     // within [kMinQ, kMaxQ]
};

class FilterBank {
public:
    static constexpr int kMaxChannels = 64;
    static constexpr int kMaxBandsLimit = 64;
    static constexpr double kMaxGainDb = 48.0;
    static constexpr double kMinQ = 0.025;
    static constexpr double kMaxQ = 40.0;
    static constexpr double kMaxSmoothingMs = 10000.0;

    // Throws std::invalid_argument for a sample rate outside [1 kHz, 1 MHz], channels outside
    // [1, kMaxChannels], maxBands outside [1, kMaxBandsLimit], smoothingMs outside [0, kMaxSmoothingMs].
    FilterBank(double sampleRate, int channels, int maxBands = 16, double smoothingMs = 20.0);
    ~FilterBank();
    FilterBank(const FilterBank&) = delete;
    FilterBank& operator=(const FilterBank&) = delete;

    // Validates and posts a new parameter set (band i goes to slot i; unused slots are off = identity).
    // Throws std::invalid_argument (naming the band and the accepted range) and changes nothing if any
    // band is invalid. The first call on a new bank, and the first after reset(), applies at once at the
    // next process(), and so does any set posted before the first process() after construction or
    // reset() (the last one posted wins: there is nothing to ramp from yet); later calls ramp over
    // smoothingMs (a set equal to the target in force changes nothing). Call from one thread at a time.
    void setBands(const Band* bands, int count);
    void setBands(const std::vector<Band>& bands) { setBands(bands.data(), static_cast<int>(bands.size())); }

    // Filters `frames` samples of each channel: in[c] -> out[c] (in-place allowed). Non-finite input
    // samples are processed as 0. Real-time safe.
    void process(const float* const* in, float* const* out, int64_t frames) noexcept;

    // Clears the filter state and finishes any ramp, at the start of the next process(). Call it from
    // the audio thread or the control thread (not from a third one).
    void reset() noexcept;

    // Magnitude response in dB of the last parameter set posted by setBands (control thread).
    double responseDb(double freq) const;
    // Magnitude response in dB at freqs[0..count) of the coefficients process() used last (mid-ramp:
    // where the ramp has got to; flat before the first process()). Any thread; never blocks process().
    void appliedResponseDb(const double* freqs, double* out, int64_t count) const;
    const std::vector<Band>& targetBands() const { return targetBands_; }

    // True while parameters move toward their target, or a posted set has not been picked up yet.
    bool ramping() const noexcept;

    double sampleRate() const noexcept { return sampleRate_; }
    int channels() const noexcept { return channels_; }
    int maxBands() const noexcept { return maxBands_; }
    double smoothingMs() const noexcept { return smoothingMs_; }
    // Coefficients are designed exactly every controlInterval() samples (at absolute positions) and
    // interpolated linearly in between while parameters ramp.
    int controlInterval() const noexcept { return controlInterval_; }

    // How process() lays the current bands out in vectors (docs/dsp.md), for benchmarks; read it only
    // while process() is not running.
    struct KernelLayout {
        int channelsPerVector, sectionsPerVector, vectorsPerChain, chunks, channelGroups, groupsPerPass;
    };
    KernelLayout kernelLayout() const;

    // Filter state, direct form I (x1, x2, y1, y2: a slot's last two inputs and outputs) per channel
    // and slot: [channel][stateSlotStride()][4]; in the steady state each slot's values are divided by
    // the product of the b0 up to it (docs/dsp.md). For tests; read it only while process() is not
    // running.
    const double* stateData() const noexcept;
    int stateSlotStride() const noexcept;

private:
    struct Engine;
    double sampleRate_;
    int channels_, maxBands_;
    double smoothingMs_;
    int controlInterval_;
    std::vector<Band> targetBands_;  // control-thread copy of the last posted set
    std::atomic<bool> nextApplyImmediate_{true};  // the next set is the first after construction/reset()
    std::unique_ptr<Engine> engine_;
};

// Validates one band for a given sample rate; throws std::invalid_argument naming `index`.
void validateBand(const Band& band, double sampleRate, int index);

}  // namespace semeq
