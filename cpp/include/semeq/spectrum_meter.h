// semeq::SpectrumMeter — the long-term spectrum of a mono stream: periodic-Hann STFT frames of nFft
// samples, hop apart, each computed once when the stream passes its end; the mean periodogram of the
// latest window's frames; and its 1/3-octave power density on the response grid.
//
// The C++ twin of the streaming half of python/semeq_rt/analysis.BalanceMeter and of ltas.hann /
// ltas.smoothing_matrix (tests/test_engine.py compares them). A frame ends at stream position
// nFft + k * hop and goes to slot k mod framesPerWindow, so the numbers never depend on how the stream
// is split into blocks.
//
// Threads: push/meanPower/reset belong to one (audio) thread; density and signalDensity only read
// constant tables. push() and meanPower() never allocate.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "semeq/eq_layout.h"
#include "semeq/real_fft.h"

namespace semeq {

// (nFft, hop) at `sampleRate` for frames defined as (nFft, hop) at `modelRate`: the power of two at
// least as long in time (FFT bins at most as wide as at the model's rate), hop in the same proportion
// (analysis.frame_geometry).
struct FrameGeometry {
    int nFft, hop;
};
FrameGeometry frameGeometry(int nFft, int hop, double sampleRate, double modelRate);

class SpectrumMeter {
public:
    // Throws std::invalid_argument unless hop divides nFft and nFft is a power of two.
    SpectrumMeter(double sampleRate, int nFft, int hop, int windowSamples);

    int nFft() const noexcept { return nFft_; }
    int hop() const noexcept { return hop_; }
    int windowSamples() const noexcept { return window_; }
    int framesPerWindow() const noexcept { return framesPerWindow_; }
    // The FFT bins the 1/3-octave bands use: [firstBin(), firstBin() + usedBins()).
    int firstBin() const noexcept { return firstBin_; }
    int usedBins() const noexcept { return usedBins_; }

    void reset() noexcept;
    // Appends the stream's next mono samples (finite), computing the frames they complete.
    void push(const float* mid, int64_t count) noexcept;
    // Mean periodogram (usedBins()) of the latest window's frames; false before the first frame.
    bool meanPower(double* out) const noexcept;

    // Mean periodogram(s) at the used bins -> 1/3-octave power density on the grid (0 above Nyquist).
    void density(const double* power, double* out) const noexcept;
    // The density of a whole mono signal with these frames (shorter than one frame: zero-padded to one);
    // allocates (not for the audio thread).
    void signalDensity(const double* mid, int64_t count, double* out);

private:
    void computeFrame(int64_t frameIndex) noexcept;

    double sampleRate_;
    int nFft_, hop_, window_, framesPerWindow_;
    int firstBin_ = 0, usedBins_ = 0;
    RealFft fft_;
    std::vector<double> hann_;
    // smoothing: per grid point, the weights of bins [rowFirst, rowFirst + rowCount) (relative to firstBin_)
    std::array<int, eq::kGridPoints> rowFirst_{}, rowCount_{};
    std::vector<double> rowWeights_;  // packed rows
    std::array<int, eq::kGridPoints> rowOffset_{};

    // stream state
    std::vector<float> history_;      // the last nFft samples, ring
    int64_t position_ = 0;            // samples pushed since reset
    std::vector<double> framePower_;  // [framesPerWindow][usedBins]
    int64_t framesDone_ = 0;
    std::vector<double> windowed_, scratchPower_;
};

}  // namespace semeq
