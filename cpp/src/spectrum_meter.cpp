#include "semeq/spectrum_meter.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace semeq {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kSmoothingOctaves = 1.0 / 3.0;
}  // namespace

FrameGeometry frameGeometry(int nFft, int hop, double sampleRate, double modelRate) {
    const double octaves = std::log2(nFft * sampleRate / modelRate) - 1e-9;
    const int scaled = 1 << std::max(0, static_cast<int>(std::ceil(octaves)));
    return {scaled, std::max(1, static_cast<int>(static_cast<int64_t>(hop) * scaled / nFft))};
}

SpectrumMeter::SpectrumMeter(double sampleRate, int nFft, int hop, int windowSamples)
    : sampleRate_(sampleRate), nFft_(nFft), hop_(hop), window_(windowSamples), fft_(nFft) {
    if (hop < 1 || nFft % hop != 0)
        throw std::invalid_argument("frames of " + std::to_string(nFft) + " samples " + std::to_string(hop) +
                                    " apart: the hop must divide the frame length");
    if (windowSamples < 1) throw std::invalid_argument("the analysis window must hold at least one sample");
    framesPerWindow_ = std::max(1, (window_ - nFft_) / hop_ + 1);
    hann_.resize(nFft_);
    for (int i = 0; i < nFft_; ++i) hann_[i] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / nFft_);

    // 1/3-octave smoothing (ltas.smoothing_matrix): each bin weighted by how much of its width lies in
    // the band, rows normalised; a band above Nyquist has no bins and a zero row
    const int bins = nFft_ / 2 + 1;
    const double df = sampleRate_ / nFft_, half = std::pow(2.0, kSmoothingOctaves / 2.0);
    const auto& grid = eq::freqGrid();
    std::vector<std::vector<double>> rows(eq::kGridPoints);
    std::vector<int> first(eq::kGridPoints, 0);
    int lowest = bins, highest = -1;
    for (int r = 0; r < eq::kGridPoints; ++r) {
        const double lo = grid[r] / half, hi = std::min(grid[r] * half, sampleRate_ / 2.0);
        std::vector<double> overlap(bins, 0.0);
        double total = 0.0;
        int a = -1, b = -1;
        for (int k = 0; k < bins; ++k) {
            const double f = k * df;
            const double o = std::max(0.0, std::min(hi, f + df / 2.0) - std::max(lo, f - df / 2.0));
            overlap[k] = o;
            total += o;
            if (o > 0.0) {
                if (a < 0) a = k;
                b = k;
            }
        }
        if (a < 0 || !(total > 0.0)) continue;
        first[r] = a;
        for (int k = a; k <= b; ++k) rows[r].push_back(overlap[k] / total);
        lowest = std::min(lowest, a);
        highest = std::max(highest, b);
    }
    firstBin_ = highest < 0 ? 0 : lowest;
    usedBins_ = highest < 0 ? 1 : highest - lowest + 1;
    int offset = 0;
    for (int r = 0; r < eq::kGridPoints; ++r) {
        rowFirst_[r] = first[r] - firstBin_;
        rowCount_[r] = static_cast<int>(rows[r].size());
        rowOffset_[r] = offset;
        offset += rowCount_[r];
        rowWeights_.insert(rowWeights_.end(), rows[r].begin(), rows[r].end());
    }
    history_.assign(nFft_, 0.0f);
    framePower_.assign(static_cast<size_t>(framesPerWindow_) * usedBins_, 0.0);
    windowed_.assign(nFft_, 0.0);
    scratchPower_.assign(usedBins_, 0.0);
    reset();
}

void SpectrumMeter::reset() noexcept {
    std::fill(framePower_.begin(), framePower_.end(), 0.0);
    std::fill(history_.begin(), history_.end(), 0.0f);
    position_ = 0;
    framesDone_ = 0;
}

void SpectrumMeter::push(const float* mid, int64_t count) noexcept {
    int64_t done = 0;
    while (done < count) {
        // frames end at nFft + k * hop; the next one after position_
        const int64_t nextEnd = position_ < nFft_ ? nFft_ : position_ + (hop_ - (position_ - nFft_) % hop_);
        const int64_t take = std::min<int64_t>(count - done, nextEnd - position_);
        for (int64_t copied = 0; copied < take;) {  // into the ring, in at most two runs
            const int at = static_cast<int>((position_ + copied) % nFft_);
            const int64_t run = std::min<int64_t>(take - copied, nFft_ - at);
            std::copy(mid + done + copied, mid + done + copied + run, history_.begin() + at);
            copied += run;
        }
        position_ += take;
        done += take;
        if (position_ == nextEnd) computeFrame((position_ - nFft_) / hop_);
    }
}

void SpectrumMeter::computeFrame(int64_t frameIndex) noexcept {
    const int64_t start = position_ - nFft_;  // the frame's first sample: ring index start % nFft
    const int offset = static_cast<int>(start % nFft_);
    const int wrap = nFft_ - offset;  // the ring from offset to its end, then from its start (two plain loops)
    for (int i = 0; i < wrap; ++i) windowed_[i] = static_cast<double>(history_[offset + i]) * hann_[i];
    for (int i = wrap; i < nFft_; ++i) windowed_[i] = static_cast<double>(history_[i - wrap]) * hann_[i];
    double* slot = framePower_.data() + static_cast<size_t>(frameIndex % framesPerWindow_) * usedBins_;
    fft_.power(windowed_.data(), slot, firstBin_, usedBins_);
    ++framesDone_;
}

bool SpectrumMeter::meanPower(double* out) const noexcept {
    if (framesDone_ == 0) return false;
    const double stored = static_cast<double>(std::min<int64_t>(framesDone_, framesPerWindow_));
    std::fill(out, out + usedBins_, 0.0);
    for (int f = 0; f < framesPerWindow_; ++f) {
        const double* slot = framePower_.data() + static_cast<size_t>(f) * usedBins_;
        for (int k = 0; k < usedBins_; ++k) out[k] += slot[k];
    }
    for (int k = 0; k < usedBins_; ++k) out[k] /= stored;
    return true;
}

void SpectrumMeter::density(const double* power, double* out) const noexcept {
    for (int r = 0; r < eq::kGridPoints; ++r) {
        const double* w = rowWeights_.data() + rowOffset_[r];
        const double* p = power + rowFirst_[r];
        double sum = 0.0;
        for (int k = 0; k < rowCount_[r]; ++k) sum += p[k] * w[k];
        out[r] = sum;
    }
}

void SpectrumMeter::signalDensity(const double* mid, int64_t count, double* out) {
    std::vector<double> padded;
    if (count < nFft_) {
        padded.assign(nFft_, 0.0);
        std::copy(mid, mid + count, padded.begin());
        mid = padded.data();
        count = nFft_;
    }
    const int64_t frames = (count - nFft_) / hop_ + 1;
    std::vector<double> total(usedBins_, 0.0), windowed(nFft_), power(usedBins_);
    RealFft fft(nFft_);
    for (int64_t f = 0; f < frames; ++f) {
        const double* frame = mid + f * hop_;
        for (int i = 0; i < nFft_; ++i) windowed[i] = frame[i] * hann_[i];
        fft.power(windowed.data(), power.data(), firstBin_, usedBins_);
        for (int k = 0; k < usedBins_; ++k) total[k] += power[k];
    }
    for (double& t : total) t /= static_cast<double>(frames);
    density(total.data(), out);
}

}  // namespace semeq
