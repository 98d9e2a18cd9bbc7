// semeq::GainRamp — an output gain that follows its target by linear ramps of fixed length, computed per
// sample from the ramp's start, so that any split of the stream into blocks gives identical samples.
// A gain above 1 first clips samples to the largest magnitude it can carry without leaving float32's
// range (the output stays finite).
//
// Threads: target() / setTarget() from any thread (atomic); apply(), reset() and current() on the audio
// thread; published() from any thread (the value at the end of the last apply()).
#pragma once

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cstdint>

namespace semeq {

class GainRamp {
public:
    explicit GainRamp(int64_t rampSamples) : rampSamples_(std::max<int64_t>(1, rampSamples)) { reset(1.0); }

    void setTarget(double value) noexcept { target_.store(value, std::memory_order_relaxed); }
    double target() const noexcept { return target_.load(std::memory_order_relaxed); }

    // Jump to `value` at once.
    void reset(double value) noexcept {
        target_.store(value, std::memory_order_relaxed);
        start_ = end_ = value;
        position_ = rampSamples_;  // no ramp running
        published_.store(value, std::memory_order_relaxed);
    }

    double current() const noexcept {
        if (position_ >= rampSamples_) return end_;
        return start_ + (end_ - start_) * static_cast<double>(position_) / static_cast<double>(rampSamples_);
    }
    double published() const noexcept { return published_.load(std::memory_order_relaxed); }

    void apply(float* const* channels, int count, int64_t frames) noexcept {
        const double target = target_.load(std::memory_order_relaxed);
        if (target != end_) {
            start_ = current();
            end_ = target;
            position_ = 0;
        }
        const double largest = std::max(start_, end_);
        if (largest > 1.0) {  // a boost must not carry a sample past float32's range (gains round: 1e-6)
            const float top = static_cast<float>(static_cast<double>(FLT_MAX) / (largest * (1.0 + 1e-6)));
            for (int c = 0; c < count; ++c)
                for (int64_t i = 0; i < frames; ++i) channels[c][i] = std::clamp(channels[c][i], -top, top);
        }
        int64_t ramped = 0;
        if (position_ < rampSamples_) {
            ramped = std::min(frames, rampSamples_ - position_);
            for (int64_t i = 0; i < ramped; ++i) {
                const double step = static_cast<double>(position_ + i + 1);
                const auto g = static_cast<float>(start_ + (end_ - start_) * step / static_cast<double>(rampSamples_));
                for (int c = 0; c < count; ++c) channels[c][i] *= g;
            }
            position_ += ramped;
        }
        if (ramped < frames && end_ != 1.0) {
            const auto g = static_cast<float>(end_);
            for (int c = 0; c < count; ++c)
                for (int64_t i = ramped; i < frames; ++i) channels[c][i] *= g;
        }
        published_.store(current(), std::memory_order_relaxed);
    }

private:
    int64_t rampSamples_;
    std::atomic<double> target_{1.0};
    double start_ = 1.0, end_ = 1.0;
    int64_t position_ = 0;
    std::atomic<double> published_{1.0};
};

}  // namespace semeq
