// semeq::Correction — how far the adaptive EQ goes: the step from the audio's balance toward the word's
// range, bounded as a mastering engineer bounds a correction, with no boost where the audio has no
// content, and the loudness change the output gain undoes.
//
// The word's centre c and human spread s (per latent dimension) define its range |(z - c) / s| <=
// kRangeWidth (level coordinate, the latent's last, left out). Audio inside gets no EQ; audio outside is
// moved toward the range's edge z_edge by intensity (a negative intensity moves it away from the centre):
//     z_final = z_audio + intensity * (z_edge - z_audio)         (intensity < 0: c instead of z_edge)
//     applied = response(z_final) - response(z_audio)             (realised bands at the stream's rate)
// Where the audio has content, the applied EQ relative to its own loudness change boosts at most
// maxBoostDb, cuts at most maxCutDb and changes by at most kMaxSlopeDbPerOctave over 1/3 octave, and gaps
// inside the content span get at most kEmptyBoostDb; where the whole step breaks a limit, all gains are
// scaled by the largest share k / kShareSteps that keeps within them (the EQ keeps its shape). Guard
// shelves below and above the content span take away any boost there. The loudness change is the
// K-weighted (BS.1770) power change of the whole EQ on the measured long-term spectrum.
//
// Limits from SAFE-DB (docs/processor.md, "Limits"): of 1,653 settings people made, the largest boost
// relative to the setting's mean level is at most 8 dB for 75 %, the largest cut at most 12 dB for 91 %,
// the steepest change over 1/3 octave at most 12 dB/octave for 83 %.
//
// No allocation after construction; not thread-safe (the Processor serialises its calls).
#pragma once

#include <array>
#include <vector>

#include "semeq/analysis_model.h"
#include "semeq/eq_layout.h"
#include "semeq/filter_bank.h"

namespace semeq {

constexpr double kDefaultMaxBoostDb = 8.0;
constexpr double kDefaultMaxCutDb = 12.0;
constexpr double kMaxSlopeDbPerOctave = 12.0;
constexpr double kRangeWidth = 0.5;
constexpr double kEmptyBoostDb = 3.0;
constexpr int kMaxLatentDim = 64;

// What the EQ applies now: two five-band settings (the step's end, and the audio's with negated gains)
// and two guard shelves; the EQ's loudness change (dB) and its largest boost and cut relative to that
// change where the audio has content (0 for a flat EQ).
struct Plan {
    static constexpr int kBands = 2 * eq::kNumBands + 2;
    std::array<Band, kBands> bands{};
    int count = 0;
    double levelChangeDb = 0.0, largestBoostDb = 0.0, largestCutDb = 0.0;
};

// The point of the range |(z - centre) / spread| <= width (last coordinate left out; spreads raised to
// a quarter of their median) on the line from centre to zAudio: zAudio itself inside it.
void rangeEdge(const double* zAudio, const double* centre, const double* spread, int dim, double width, double* out);

class Correction {
public:
    Correction(double sampleRate, double maxBoostDb, double maxCutDb);

    // Grid points below Nyquist, where responses and loudness are evaluated.
    int points() const noexcept { return points_; }
    const double* freqs() const noexcept { return eq::freqGrid().data(); }

    // Loudness weights of a 1/3-octave power density on the grid (kGridPoints): density x bandwidth x
    // K-weighting at each of points().
    void loudnessWeights(const double* density, double* out) const noexcept;
    // K-weighted power change (dB) of an EQ response (points()) on a spectrum given by its weights.
    double levelChangeDb(const double* responseDb, const double* weights) const noexcept;
    // Summed dB response at points() of `count` bands.
    void bandsResponseDb(const Band* bands, int count, double* out) const noexcept;

    // No EQ: the bands of a plan at 0 dB, at `params`'s frequencies (they pass audio through unchanged).
    void flat(const double* params, Plan& out) const noexcept;
    // The bounded step (see above) on audio whose time-averaged density (kGridPoints) is `density`.
    void plan(const double* zAudio, const double* centre, const double* spread, int dim, double intensity,
              const double* density, AnalysisModel& model, Plan& out);

private:
    double excess(const double* relative) const noexcept;
    void bandsPower(const Band* bands, int count, double* out) const noexcept;
    void settingPower(const double* params, double share, double* out) const noexcept;
    bool tryShare(const double* params, double share, double* applied) noexcept;
    void guardBands(const double* applied, Band* guards, double* total) noexcept;
    void guards(double lowDb, double highDb, double lowHz, double highHz, Band* out) const noexcept;

    double sampleRate_, maxBoostDb_, maxCutDb_;
    int points_;
    std::vector<double> phi_;      // sin^2(pi f / fs) at points() (rbj.h's response form)
    std::vector<double> kWeight_;  // K-weighting power x f at points()
    std::vector<char> checked_;    // points in the analysis band, up to the EQ's top frequency
    // per plan(): content span and content bands over points(), loudness weights, scratch responses
    std::vector<char> span_, content_;
    std::vector<double> weights_, response0_, response1_, applied_, relative_, total_, scratch_;
};

}  // namespace semeq
