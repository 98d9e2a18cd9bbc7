// Where audio has content and what its tonal balance is, from its 1/3-octave power density on the
// response grid. The C++ twin of python/semeq_rt/ltas.py (content_bands, content_mask,
// band_db_from_density, balance_from_density); tests/test_engine.py compares them.
//
// Arrays over the analysis band hold eq::analysisCount() values (its grid points, in order); curves on
// the whole grid hold eq::kGridPoints. No allocation.
#pragma once

#include <algorithm>
#include <cmath>

#include "semeq/eq_layout.h"

namespace semeq::balance {

// A band holds content when its power (density x bandwidth, proportional to f) lies within
// kContentRangeDb of the loudest band's; below kContentNarrowHz a band spans fewer than 3 analysis
// bins and the Hann window's leakage fills it to about 55 dB below a loud neighbour, so there the
// range is kContentRangeNarrowDb.
constexpr double kContentRangeDb = 60.0;
constexpr double kContentRangeNarrowDb = 50.0;
constexpr double kContentNarrowHz = 160.0;
// Power floor relative to the band's mean power (keeps log finite, level-independent).
constexpr double kRelativeFloor = 1e-9;
// The balance is clipped to +/- this.
constexpr double kBalanceLimitDb = 24.0;

// Which analysis-band points hold content (all false for silence). Returns how many do.
inline int contentBands(const double* bandDensity, bool* out) {
    const auto& grid = eq::freqGrid();
    const int first = eq::analysisFirst(), n = eq::analysisCount();
    double top = 0.0;
    for (int i = 0; i < n; ++i) top = std::max(top, bandDensity[i] * grid[first + i]);
    int count = 0;
    for (int i = 0; i < n; ++i) {
        const double f = grid[first + i];
        const double range = f < kContentNarrowHz ? kContentRangeNarrowDb : kContentRangeDb;
        out[i] = top > 0.0 && bandDensity[i] * f >= top * std::pow(10.0, -range / 10.0);
        count += out[i];
    }
    return count;
}

// The span from the lowest to the highest content band: [first, last] analysis-band indices; false
// (and nothing written) for silence.
inline bool contentSpan(const double* bandDensity, int* first, int* last) {
    bool bands[eq::kGridPoints];
    if (contentBands(bandDensity, bands) == 0) return false;
    const int n = eq::analysisCount();
    int a = 0, b = n - 1;
    while (!bands[a]) ++a;
    while (!bands[b]) --b;
    *first = a;
    *last = b;
    return true;
}

// The tonal balance (dB on the whole grid): the band's level in dB, mean removed, minus the reference
// (referenceDb: kGridPoints values); inside [spanFirst, spanLast] as measured, outside it held at the
// span's edge values (spanFirst < 0: no span, the whole band as measured); mean removed again, held
// constant outside the analysis band, clipped to +/- kBalanceLimitDb.
inline void balanceFromDensity(const double* bandDensity, const double* referenceDb, int spanFirst, int spanLast,
                               double* out) {
    const int first = eq::analysisFirst(), n = eq::analysisCount();
    double level[eq::kGridPoints], band[eq::kGridPoints];
    double mean = 0.0;
    for (int i = 0; i < n; ++i) mean += bandDensity[i];
    const double floor = kRelativeFloor * (mean / n) + 1e-30;
    double levelMean = 0.0;
    for (int i = 0; i < n; ++i) {
        level[i] = 10.0 * std::log10(bandDensity[i] + floor);
        levelMean += level[i];
    }
    levelMean /= n;
    for (int i = 0; i < n; ++i) level[i] = level[i] - levelMean - referenceDb[first + i];
    const bool held = spanFirst >= 0 && !(spanFirst == 0 && spanLast == n - 1);
    double bandMean = 0.0;
    for (int i = 0; i < n; ++i) {
        band[i] = held ? level[std::clamp(i, spanFirst, spanLast)] : level[i];
        bandMean += band[i];
    }
    bandMean /= n;
    for (int g = 0; g < eq::kGridPoints; ++g) {
        const double v = band[std::clamp(g - first, 0, n - 1)] - bandMean;
        out[g] = std::clamp(v, -kBalanceLimitDb, kBalanceLimitDb);
    }
}

}  // namespace semeq::balance
