// The semantic EQ's contract in C++: the response grid, the 13-parameter layout and its five bands, the
// clamp of band frequencies below Nyquist, and the analysis band.
//
// The C++ twin of python/semeq_rt/eqdef.py (FREQ_GRID, PARAM_LAYOUT, params_to_bands, MAX_FREQ_FRACTION,
// clamp_frequencies) and of ltas.ANALYSIS_BAND_HZ; tests/test_engine.py holds the two together.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include "semeq/filter_bank.h"

namespace semeq::eq {

// The response grid: log-spaced, 20 Hz to 20 kHz, 1/12 octave apart.
constexpr int kGridPoints = 121;
constexpr double kGridLowHz = 20.0;
constexpr double kGridHighHz = 20000.0;

// Band where the tonal balance is measured (below 50 Hz a window holds too few cycles; above 16 kHz
// lossy codecs cut off).
constexpr double kAnalysisLowHz = 50.0;
constexpr double kAnalysisHighHz = 16000.0;

// Highest band frequency the runtime realises, as a fraction of the sample rate: the semantic EQ's
// frequencies reach 20 kHz and are clamped below Nyquist at low rates (a band above fs/2 could not be
// realised; its audible effect would lie above Nyquist anyway).
constexpr double kMaxFreqFraction = 0.45;

struct ParamSpec {
    const char* name;
    const char* unit;
    double low, high;
};

// The 13 parameters of the 5-band semantic EQ in the SAFE plugin's column order.
constexpr int kNumParams = 13;
constexpr ParamSpec kParamLayout[kNumParams] = {
    {"lowshelf_gain", "dB", -12.0, 12.0}, {"lowshelf_freq", "Hz", 22.0, 1000.0},
    {"peak1_gain", "dB", -12.0, 12.0},    {"peak1_freq", "Hz", 82.0, 3900.0},
    {"peak1_q", "", 0.1, 10.0},           {"peak2_gain", "dB", -12.0, 12.0},
    {"peak2_freq", "Hz", 180.0, 4700.0},  {"peak2_q", "", 0.1, 10.0},
    {"peak3_gain", "dB", -12.0, 12.0},    {"peak3_freq", "Hz", 220.0, 10000.0},
    {"peak3_q", "", 0.1, 10.0},           {"highshelf_gain", "dB", -12.0, 12.0},
    {"highshelf_freq", "Hz", 580.0, 20000.0},
};

// Which parameter holds each band's gain, frequency and Q (-1: the shelf's fixed kShelfQ).
struct BandSpec {
    BandType type;
    int gain, freq, q;
};
constexpr int kNumBands = 5;
constexpr BandSpec kBandLayout[kNumBands] = {
    {BandType::LowShelf, 0, 1, -1}, {BandType::Peak, 2, 3, 4},       {BandType::Peak, 5, 6, 7},
    {BandType::Peak, 8, 9, 10},     {BandType::HighShelf, 11, 12, -1},
};

// The grid points (Hz), computed as numpy.geomspace computes them (endpoints exact).
inline const std::array<double, kGridPoints>& freqGrid() {
    static const std::array<double, kGridPoints> grid = [] {
        std::array<double, kGridPoints> g{};
        const double start = std::log10(kGridLowHz), step = (std::log10(kGridHighHz) - start) / (kGridPoints - 1);
        for (int i = 0; i < kGridPoints; ++i) g[i] = std::pow(10.0, i * step + start);
        g[0] = kGridLowHz;
        g[kGridPoints - 1] = kGridHighHz;
        return g;
    }();
    return grid;
}

// [first, last] grid indices of the analysis band.
inline int analysisFirst() {
    const auto& g = freqGrid();
    return static_cast<int>(std::lower_bound(g.begin(), g.end(), kAnalysisLowHz) - g.begin());
}
inline int analysisLast() {
    const auto& g = freqGrid();
    return static_cast<int>(std::upper_bound(g.begin(), g.end(), kAnalysisHighHz) - g.begin()) - 1;
}
inline int analysisCount() { return analysisLast() - analysisFirst() + 1; }

// The five bands of one setting as realised at `sampleRate`: frequencies clamped to kMaxFreqFraction x
// sampleRate, gains scaled by `gainScale` (eqdef.params_to_bands + clamp_frequencies).
inline void paramsToBands(const double* params, double sampleRate, double gainScale, Band* out) {
    const double top = kMaxFreqFraction * sampleRate;
    for (int i = 0; i < kNumBands; ++i) {
        const BandSpec& s = kBandLayout[i];
        out[i] = Band{s.type, std::min(params[s.freq], top), params[s.gain] * gainScale,
                      s.q < 0 ? kShelfQ : params[s.q]};
    }
}

}  // namespace semeq::eq
