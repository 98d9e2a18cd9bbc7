// semeq::SpectrumMeter — the long-term spectrum of a mono stream: periodic-Hann STFT frames of nFft
// samples, hop apart, each computed once when the stream passes its end; the mean periodogram of the
// latest window's frames; and its 1/3-octave power density on the response grid.
//
// The C++ twin of the streaming half of python/semeq_rt/analysis.BalanceMeter and of ltas.hann /
// ltas.smoothing_matrix (tests/test_engine.py compares them). A frame ends at stream position
// nFft + k * hop (k counted since reset), and a window's frames are summed in the order of k modulo
// framesPerWindow, so the numbers never depend on how the stream is split into blocks.
//
// Threads: push/latestWindow/reset belong to one (audio) thread; density and signalDensity only read
// constant tables. A second (analysis) thread may average a window the audio thread handed it while the
// stream goes on: it claims the window's frames (claim/release), and until it releases them the audio
// thread does not overwrite them. The frames live in a ring of a window's frames plus at least as many
// again and at least 4 s of them, which the audio thread fills before it reaches a claimed frame; a
// frame that would overwrite a claimed one is dropped, and a window that lacks a frame cannot be
// averaged (meanPower says so). Nothing here allocates after construction.
#pragma once

#include <array>
#include <atomic>
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

    // The latest window's frames: the last min(frames since reset, framesPerWindow()) of them.
    struct Window {
        int64_t end = 0;    // the frames' serial numbers (counted since construction) are [end - count, end)
        int64_t index = 0;  // the frames since reset up to `end` (frame `end - 1` is frame index - 1 of the stream)
        int count = 0;
    };

    void reset() noexcept;
    // Appends the stream's next mono samples (finite), computing the frames they complete.
    void push(const float* mid, int64_t count) noexcept;
    // The latest window (audio thread); false before the first frame since reset.
    bool latestWindow(Window* out) const noexcept;
    // Mean periodogram (usedBins()) of `window`'s frames, summed in the same order whichever thread asks
    // (by frame index modulo framesPerWindow()); false if one of them was dropped. From another thread
    // only between claim() and release().
    bool meanPower(const Window& window, double* out) const noexcept;
    // The audio thread's shorthand: the latest window's mean periodogram; false before the first frame.
    bool meanPower(double* out) const noexcept;
    // Analysis thread: keeps the audio thread off `window`'s frames until release(); false (nothing
    // claimed) if the stream has already overwritten one of them. One claim at a time.
    bool claim(const Window& window) noexcept;
    void release() noexcept;

    // Mean periodogram(s) at the used bins -> 1/3-octave power density on the grid (0 above Nyquist).
    void density(const double* power, double* out) const noexcept;
    // The density of a whole mono signal with these frames (shorter than one frame: zero-padded to one);
    // allocates (not for the audio thread).
    void signalDensity(const double* mid, int64_t count, double* out);

private:
    void computeFrame() noexcept;  // the frame ending at position_, into the next serial number's slot

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
    int slots_ = 0;                   // the ring's frames (the constructor says how many)
    std::vector<double> framePower_;  // [slots][usedBins]: frame s in slot s mod slots_
    std::vector<int64_t> slotFrame_;  // the serial number of the frame each slot holds (-1: none)
    std::atomic<int64_t> serial_{0};  // frames computed (or dropped) since construction
    int64_t resetSerial_ = 0;         // serial_ at the last reset
    std::atomic<int64_t> claimedFrom_;  // the oldest frame an analysis thread reads; kNoClaim: none
    std::vector<double> windowed_, scratchPower_;
};

}  // namespace semeq
