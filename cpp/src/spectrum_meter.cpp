#include "semeq/spectrum_meter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace semeq {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kSmoothingOctaves = 1.0 / 3.0;
constexpr int64_t kNoClaim = std::numeric_limits<int64_t>::max();
constexpr double kSpareSeconds = 4.0;
}  // namespace

FrameGeometry frameGeometry(int nFft, int hop, double sampleRate, double modelRate) {
    const double octaves = std::log2(nFft * sampleRate / modelRate) - 1e-9;
    const int scaled = 1 << std::max(0, static_cast<int>(std::ceil(octaves)));
    return {scaled, std::max(1, static_cast<int>(static_cast<int64_t>(hop) * scaled / nFft))};
}

SpectrumMeter::SpectrumMeter(double sampleRate, int nFft, int hop, int windowSamples)
    : sampleRate_(sampleRate), nFft_(nFft), hop_(hop), window_(windowSamples), fft_(nFft), claimedFrom_(kNoClaim) {
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
    // a window's frames plus kSpareSeconds of frames after it: what the stream may add before the analysis
    // thread claims a window (at real time it claims within milliseconds; a stream run faster than real
    // time, e.g. a benchmark, may outrun it, and the window is then skipped)
    slots_ = framesPerWindow_ + std::max(framesPerWindow_, static_cast<int>(std::ceil(kSpareSeconds * sampleRate_ / hop_)));
    framePower_.assign(static_cast<size_t>(slots_) * usedBins_, 0.0);
    slotFrame_.assign(slots_, -1);
    windowed_.assign(nFft_, 0.0);
    scratchPower_.assign(usedBins_, 0.0);
    reset();
}

void SpectrumMeter::reset() noexcept {
    // the frames stay where they are (an analysis thread may be reading some): the frames since reset
    // start at the next serial number
    std::fill(history_.begin(), history_.end(), 0.0f);
    position_ = 0;
    resetSerial_ = serial_.load(std::memory_order_relaxed);
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
        if (position_ == nextEnd) computeFrame();
    }
}

void SpectrumMeter::computeFrame() noexcept {
    const int64_t serial = serial_.load(std::memory_order_relaxed);  // (this thread is its only writer)
    const int slot = static_cast<int>(serial % slots_);
    // the slot's frame (serial - slots_) is one an analysis thread reads: this frame is dropped. Sequentially
    // consistent with claim(): a claim this misses sees the serial numbers stored before it (claim() then fails)
    if (serial - slots_ < claimedFrom_.load(std::memory_order_seq_cst)) {
        const int64_t start = position_ - nFft_;  // the frame's first sample: ring index start % nFft
        const int offset = static_cast<int>(start % nFft_);
        const int wrap = nFft_ - offset;  // the ring from offset to its end, then from its start (two plain loops)
        for (int i = 0; i < wrap; ++i) windowed_[i] = static_cast<double>(history_[offset + i]) * hann_[i];
        for (int i = wrap; i < nFft_; ++i) windowed_[i] = static_cast<double>(history_[i - wrap]) * hann_[i];
        fft_.power(windowed_.data(), framePower_.data() + static_cast<size_t>(slot) * usedBins_, firstBin_, usedBins_);
        slotFrame_[slot] = serial;
    }
    serial_.store(serial + 1, std::memory_order_seq_cst);
}

bool SpectrumMeter::latestWindow(Window* out) const noexcept {
    const int64_t end = serial_.load(std::memory_order_relaxed), index = end - resetSerial_;
    if (index == 0) return false;
    *out = Window{end, index, static_cast<int>(std::min<int64_t>(index, framesPerWindow_))};
    return true;
}

bool SpectrumMeter::meanPower(const Window& window, double* out) const noexcept {
    // summed slot by slot in the order of the frames' index modulo framesPerWindow, as when the window's
    // frames had a ring of their own: the mean does not depend on the thread or on the ring's size
    const int64_t first = window.index - window.count;  // the first frame's index since reset
    std::fill(out, out + usedBins_, 0.0);
    for (int f = 0; f < framesPerWindow_; ++f) {
        const int64_t index = first + ((f - first) % framesPerWindow_ + framesPerWindow_) % framesPerWindow_;
        if (index >= window.index) continue;  // (fewer frames than a window: this remainder has none)
        const int64_t serial = window.end - window.index + index;
        const int slot = static_cast<int>(serial % slots_);
        if (slotFrame_[slot] != serial) return false;  // dropped, or overwritten since
        const double* power = framePower_.data() + static_cast<size_t>(slot) * usedBins_;
        for (int k = 0; k < usedBins_; ++k) out[k] += power[k];
    }
    for (int k = 0; k < usedBins_; ++k) out[k] /= static_cast<double>(window.count);
    return true;
}

bool SpectrumMeter::meanPower(double* out) const noexcept {
    Window window;
    return latestWindow(&window) && meanPower(window, out);
}

bool SpectrumMeter::claim(const Window& window) noexcept {
    const int64_t first = window.end - window.count;
    claimedFrom_.store(first, std::memory_order_seq_cst);
    // the next frame the audio thread stores goes to the slot of frame (serial - slots_): still outside
    // the window, or the window is (being) overwritten
    if (serial_.load(std::memory_order_seq_cst) - slots_ >= first) {
        release();
        return false;
    }
    return true;
}

void SpectrumMeter::release() noexcept { claimedFrom_.store(kNoClaim, std::memory_order_release); }

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
