#include "semeq/correction.h"

#include <algorithm>
#include <cmath>

#include "semeq/rbj.h"
#include "semeq/tonal_balance.h"

namespace semeq {

namespace {

constexpr int kSlopeSpan = 4;  // grid points: 1/3 octave
constexpr double kSpreadFloor = 0.25;
constexpr double kGuardOffsetOctaves = 1.0 / 6.0;
constexpr double kGuardLimitDb = 30.0;
constexpr int kGuardSteps = 4;
constexpr int kShareSteps = 32;
// ITU-R BS.1770 K-weighting as two RBJ designs that hold at any rate (measures.K_WEIGHTING_BANDS)
constexpr Band kKWeighting[2] = {{BandType::HighShelf, 1500.0, 4.0, kShelfQ}, {BandType::HighPass, 38.0, 0.0, 0.5}};

double median(double* values, int n) {
    std::sort(values, values + n);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

void rangeEdge(const double* zAudio, const double* centre, const double* spread, int dim, double width, double* out) {
    double floored[kMaxLatentDim];
    std::copy(spread, spread + dim - 1, floored);
    const double floor = kSpreadFloor * median(floored, dim - 1);
    double sum = 0.0;
    for (int i = 0; i < dim - 1; ++i) {
        const double d = (zAudio[i] - centre[i]) / std::max(spread[i], floor);
        sum += d * d;
    }
    const double distance = std::sqrt(sum);
    for (int i = 0; i < dim; ++i)
        out[i] = distance <= width ? zAudio[i] : centre[i] + (zAudio[i] - centre[i]) * (width / distance);
}

Correction::Correction(double sampleRate, double maxBoostDb, double maxCutDb)
    : sampleRate_(sampleRate), maxBoostDb_(maxBoostDb), maxCutDb_(maxCutDb) {
    const auto& grid = eq::freqGrid();
    points_ = 0;
    while (points_ < eq::kGridPoints && grid[points_] < 0.5 * sampleRate_) ++points_;
    phi_.assign(points_, 0.0);
    for (int i = 0; i < points_; ++i) phi_[i] = responsePhi(grid[i], sampleRate_);
    kWeight_.assign(points_, 0.0);
    bandsPower(kKWeighting, 2, kWeight_.data());
    for (int i = 0; i < points_; ++i) kWeight_[i] *= grid[i];
    checked_.assign(points_, 0);
    for (int i = 0; i < points_; ++i)
        checked_[i] = grid[i] >= eq::kAnalysisLowHz && grid[i] <= eq::kAnalysisHighHz &&
                      grid[i] <= eq::kMaxFreqFraction * sampleRate_;
    span_.assign(points_, 0);
    content_.assign(points_, 0);
    for (auto* v : {&weights_, &response0_, &response1_, &applied_, &relative_, &total_, &scratch_})
        v->assign(points_, 0.0);
}

void Correction::loudnessWeights(const double* density, double* out) const noexcept {
    for (int i = 0; i < points_; ++i) out[i] = density[i] * kWeight_[i];
}

namespace {

// K-weighted power change (dB) of a response given by its linear power gain at each point, power(i).
template <class PowerAt>
double weightedLevelChangeDb(PowerAt power, const double* weights, int points) noexcept {
    double total = 0.0, weighted = 0.0;
    for (int i = 0; i < points; ++i) total += weights[i];
    if (!(total > 0.0)) return 0.0;
    for (int i = 0; i < points; ++i) weighted += power(i) * weights[i];
    return 10.0 * std::log10(weighted / total);
}

}  // namespace

double Correction::levelChangeDb(const double* responseDb, const double* weights) const noexcept {
    return weightedLevelChangeDb([responseDb](int i) { return std::pow(10.0, responseDb[i] / 10.0); }, weights,
                                 points_);
}

// Each band's power gain |H|^2 multiplied in at every point: one logarithm per point for a whole
// setting instead of two per band (the correction evaluates a dozen settings per analysis).
void Correction::bandsPower(const Band* bands, int count, double* out) const noexcept {
    std::fill(out, out + points_, 1.0);
    for (int b = 0; b < count; ++b) {
        const Biquad c = rbjDesign(bands[b].type, bands[b].freq, bands[b].gainDb, bands[b].q, sampleRate_);
        for (int i = 0; i < points_; ++i) {
            double num, den;
            powerGainParts(c, phi_[i], &num, &den);
            out[i] *= num / den;
        }
    }
}

void Correction::bandsResponseDb(const Band* bands, int count, double* out) const noexcept {
    bandsPower(bands, count, out);
    for (int i = 0; i < points_; ++i) out[i] = 10.0 * std::log10(out[i]);
}

void Correction::guards(double lowDb, double highDb, double lowHz, double highHz, Band* out) const noexcept {
    out[0] = Band{BandType::LowShelf, lowHz, lowDb, kShelfQ};
    out[1] = Band{BandType::HighShelf, highHz, highDb, kShelfQ};
}

void Correction::flat(const double* params, Plan& out) const noexcept {
    eq::paramsToBands(params, sampleRate_, 0.0, out.bands.data());
    eq::paramsToBands(params, sampleRate_, 0.0, out.bands.data() + eq::kNumBands);
    guards(0.0, 0.0, freqs()[0], eq::kMaxFreqFraction * sampleRate_, out.bands.data() + 2 * eq::kNumBands);
    out.count = Plan::kBands;
    out.levelChangeDb = out.largestBoostDb = out.largestCutDb = 0.0;
}

void Correction::settingPower(const double* params, double share, double* out) const noexcept {
    Band bands[eq::kNumBands];
    eq::paramsToBands(params, sampleRate_, share, bands);
    bandsPower(bands, eq::kNumBands, out);
}

double Correction::excess(const double* relative) const noexcept {
    double boost = -INFINITY, cut = INFINITY, hole = -INFINITY, slope = 0.0;
    bool holes = false, slopes = false;
    for (int i = 0; i < points_; ++i) {
        if (!span_[i]) continue;
        boost = std::max(boost, relative[i]);
        cut = std::min(cut, relative[i]);
        if (!content_[i]) {
            holes = true;
            hole = std::max(hole, relative[i]);
        }
        if (i + kSlopeSpan < points_ && span_[i + kSlopeSpan]) {
            slopes = true;
            slope = std::max(slope, std::fabs(relative[i + kSlopeSpan] - relative[i]));
        }
    }
    double worst = std::max(boost / maxBoostDb_, -cut / maxCutDb_);
    if (holes) worst = std::max(worst, hole / kEmptyBoostDb);
    if (slopes) worst = std::max(worst, slope / (kSlopeSpan / 12.0) / kMaxSlopeDbPerOctave);
    return worst;
}

// Whether the step's gains scaled by `share` keep within the limits; its applied response into `applied`.
bool Correction::tryShare(const double* params, double share, double* applied) noexcept {
    settingPower(params, share, response0_.data());
    settingPower(params + eq::kNumParams, share, response1_.data());
    for (int i = 0; i < points_; ++i) response1_[i] /= response0_[i];
    const double level = weightedLevelChangeDb([this](int i) { return response1_[i]; }, weights_.data(), points_);
    for (int i = 0; i < points_; ++i) {
        applied[i] = 10.0 * std::log10(response1_[i]);
        relative_[i] = applied[i] - level;
    }
    return excess(relative_.data()) <= 1.0;
}

void Correction::plan(const double* zAudio, const double* centre, const double* spread, int dim, double intensity,
                      const double* density, AnalysisModel& model, Plan& out) {
    // content span and content bands over the checked points
    const int first = eq::analysisFirst(), n = eq::analysisCount();
    bool bands[eq::kGridPoints];
    const bool any = balance::contentBands(density + first, bands) > 0;
    int spanFirst = 0, spanLast = -1;
    if (any) balance::contentSpan(density + first, &spanFirst, &spanLast);
    bool anySpan = false;
    for (int i = 0; i < points_; ++i) {
        const int b = i - first;
        span_[i] = checked_[i] && b >= 0 && b < n && b >= spanFirst && b <= spanLast;
        content_[i] = checked_[i] && b >= 0 && b < n && bands[b];
        anySpan = anySpan || span_[i];
    }
    loudnessWeights(density, weights_.data());
    double weightTotal = 0.0;
    for (int i = 0; i < points_; ++i) weightTotal += weights_[i];

    double latents[2 * kMaxLatentDim], edge[kMaxLatentDim];
    if (intensity >= 0.0)
        rangeEdge(zAudio, centre, spread, dim, kRangeWidth, edge);
    else
        std::copy(centre, centre + dim, edge);  // away from the word: from its centre, whatever the range
    bool moves = false;
    for (int i = 0; i < dim; ++i) {
        const double direction = edge[i] - zAudio[i];
        moves = moves || direction != 0.0;
        latents[i] = zAudio[i];
        latents[dim + i] = zAudio[i] + intensity * direction;
    }
    double params[2 * eq::kNumParams];
    model.decode(latents, 2, params);
    if (intensity == 0.0 || !anySpan || !(weightTotal > 0.0) || !moves) return flat(params, out);

    // the whole step if it keeps within the limits; else the largest share of kShareSteps, found coarse
    // (eighths) then fine (the steps between the last eighth within and the next)
    double share = 1.0;
    bool found = tryShare(params, share, applied_.data());
    if (!found) {
        share = 0.0;
        for (int k = 7; k >= 1 && !found; --k)
            if (tryShare(params, k / 8.0, applied_.data())) share = k / 8.0, found = true;
        for (int k = kShareSteps / 8 - 1; k >= 1; --k) {
            const double finer = share + static_cast<double>(k) / kShareSteps;
            if (tryShare(params, finer, scratch_.data())) {
                share = finer;
                std::copy(scratch_.begin(), scratch_.end(), applied_.begin());
                found = true;
                break;
            }
        }
    }
    if (!found) return flat(params, out);

    Band* b = out.bands.data();
    eq::paramsToBands(params + eq::kNumParams, sampleRate_, share, b);
    eq::paramsToBands(params, sampleRate_, -share, b + eq::kNumBands);
    guardBands(applied_.data(), b + 2 * eq::kNumBands, total_.data());
    out.count = Plan::kBands;
    out.levelChangeDb = levelChangeDb(total_.data(), weights_.data());
    double boost = -INFINITY, cut = INFINITY;
    for (int i = 0; i < points_; ++i)
        if (span_[i]) {
            boost = std::max(boost, total_[i] - out.levelChangeDb);
            cut = std::min(cut, total_[i] - out.levelChangeDb);
        }
    out.largestBoostDb = boost;
    out.largestCutDb = cut;
}

// Shelves below and above the content span that cut what `applied` boosts outside it (relative to its
// loudness change), down to 0 dB there; 0 dB shelves where nothing needs cutting. Total response too.
void Correction::guardBands(const double* applied, Band* out, double* total) noexcept {
    int inFirst = -1, inLast = -1;
    for (int i = 0; i < points_; ++i)
        if (span_[i]) {
            if (inFirst < 0) inFirst = i;
            inLast = i;
        }
    const double top = eq::kMaxFreqFraction * sampleRate_;
    const double corners[2] = {std::min(freqs()[inFirst] * std::pow(2.0, -kGuardOffsetOctaves), top),
                               std::min(freqs()[inLast] * std::pow(2.0, kGuardOffsetOctaves), top)};
    double gains[2] = {0.0, 0.0};
    std::copy(applied, applied + points_, total);
    for (int step = 0; step < kGuardSteps; ++step) {
        const double level = levelChangeDb(total, weights_.data());
        bool changed = false;
        for (int side = 0; side < 2; ++side) {
            int worst = -1;
            for (int i = 0; i < points_; ++i) {
                const bool region = checked_[i] && (side == 0 ? i < inFirst : i > inLast);
                if (region && (worst < 0 || total[i] - level > total[worst] - level)) worst = i;
            }
            if (worst < 0) continue;
            const double excessDb = total[worst] - level;
            if (excessDb <= 0.05) continue;
            // the shelf's share of its gain at that point (for a 1 dB cut when it has none yet)
            const double probe = gains[side] != 0.0 ? gains[side] : -1.0;
            const BandType kind = side == 0 ? BandType::LowShelf : BandType::HighShelf;
            const Biquad c = rbjDesign(kind, corners[side], probe, kShelfQ, sampleRate_);
            const double share = responseDb(c, freqs()[worst], sampleRate_) / probe;
            gains[side] = std::max(gains[side] - excessDb / std::max(share, 0.1), -kGuardLimitDb);
            changed = true;
        }
        if (!changed) break;
        guards(gains[0], gains[1], corners[0], corners[1], out);
        bandsResponseDb(out, 2, scratch_.data());
        for (int i = 0; i < points_; ++i) total[i] = applied[i] + scratch_[i];
    }
    guards(gains[0], gains[1], corners[0], corners[1], out);
}

}  // namespace semeq
