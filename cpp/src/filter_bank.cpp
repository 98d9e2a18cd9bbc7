#include "semeq/filter_bank.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "dispatch.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace semeq {
namespace {

using detail::KernelTable;
using detail::kNumCoefs;
using detail::PassArgs;

constexpr int kMaxWidth = 8;                // widest kernel (AVX-512: 8 doubles)
constexpr int kMaxChannelsPadded = FilterBank::kMaxChannels + kMaxWidth;
constexpr int64_t kSubBlock = 512;
constexpr int kMaxControlPoints = 64;       // per sub-block: kSubBlock / min interval (16) + 2, rounded up
// Buffer placement, in doubles. A pass loads from one buffer while its recent stores to the other are
// in flight; if their addresses are equal modulo 4 KiB the load waits for the store (4K aliasing, which
// made some layouts 5x slower). Groups are 320 bytes apart modulo 4 KiB, the second buffer 2 KiB.
constexpr int64_t kGroupStride = kSubBlock * kMaxWidth + 40;  // room for cpv up to kMaxWidth
constexpr int64_t kPageDoubles = 512, kHalfPageDoubles = 256;

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t floorTo(int64_t x, int64_t m) { return x / m * m; }

// Flush-to-zero and denormals-are-zero for the duration of process(): a decaying state can never
// reach the slow subnormal range. Restores the caller's mode on exit.
class FlushDenormals {
public:
#if defined(__x86_64__) || defined(_M_X64)
    // ldmxcsr stalls the pipeline: skipped where the caller already flushes (as plugin hosts do)
    FlushDenormals() : saved_(_mm_getcsr()) {
        if ((saved_ & kFlush) != kFlush) _mm_setcsr(saved_ | kFlush);
    }
    ~FlushDenormals() {
        if ((saved_ & kFlush) != kFlush) _mm_setcsr(saved_);
    }

private:
    static constexpr unsigned kFlush = 0x8040u;  // FTZ | DAZ
    unsigned saved_;
#elif defined(__aarch64__)
    FlushDenormals() {
        asm volatile("mrs %0, fpcr" : "=r"(saved_));
        asm volatile("msr fpcr, %0" : : "r"(saved_ | (uint64_t{1} << 24)));
    }
    ~FlushDenormals() { asm volatile("msr fpcr, %0" : : "r"(saved_)); }

private:
    uint64_t saved_;
#endif
};

// What the kernel multiplies with (kernel_impl.h). Ramps interpolate the plain coefficients
// linearly: a1, a2 (the poles) move on a straight line between two stable designs, so every
// intermediate filter is stable too. Steady passes divide b0 out (normalizedCoefs) and pool it.
struct KernelCoefs {
    double v[kNumCoefs];
};

KernelCoefs kernelCoefs(const Biquad& b) { return KernelCoefs{{b.b0, b.b1, b.b2, b.a1, b.a2}}; }

KernelCoefs normalizedCoefs(const Biquad& b) { return KernelCoefs{{1.0, b.b1 / b.b0, b.b2 / b.b0, b.a1, b.a2}}; }

// The normalized form divides each section's signals by the product of the b0 up to it
// (kernel_impl.h); where a product leaves this range (a low-pass near 0 Hz or a high-pass near
// Nyquist has a b0 near 0) the plain form runs instead, so no scaled signal can overflow.
constexpr double kMinPooledGain = 1e-100, kMaxPooledGain = 1e100;
// A section whose response is the identity (b = a) may be dropped once its input and output history
// agree to this relative precision: the rest of its ringing is below float32 resolution (2^-24) by
// a wide margin. (Direct form I keeps rounding the difference, so it does not reach exact zero.)
constexpr double kSettledTolerance = 0x1p-40;

// A Param ramp's end points, prepared once per ramp: log frequency and log Q, and the trigonometry
// when the frequency does not move.
struct RampPath {
    double logF0, logF1, logQ0, logQ1, cosW0, sinW0;
    bool fixedFreq;
};

struct Slot {
    bool on = false;
    Band band;
    bool operator==(const Slot& o) const {
        if (on != o.on) return false;
        if (!on) return true;
        return band.type == o.band.type && band.freq == o.band.freq && band.gainDb == o.band.gainDb &&
               band.q == o.band.q;
    }
};

Biquad designSlot(const Slot& s, double fs) {
    return s.on ? rbjDesign(s.band.type, s.band.freq, s.band.gainDb, s.band.q, fs) : Biquad{};
}

// Peaks and shelves have a gain, and at 0 dB they are the identity.
bool hasGain(BandType type) {
    return type == BandType::Peak || type == BandType::LowShelf || type == BandType::HighShelf;
}

// How a slot moves during a ramp: not at all, along its parameters (gain linear, frequency and Q on
// a log scale; also a peak or shelf switched on or off, from or to 0 dB), or along its coefficients
// (type change, low-/high-pass switched on or off).
enum class RampMode { Static, Param, Coef };

// A parameter set on its way from the control thread to the audio thread.
struct Message {
    std::vector<Slot> slots;
    bool immediate = false;
};

// Single-writer single-reader triple buffer: the writer never waits, the reader always gets the newest
// complete value (and keeps the last one it took while nothing newer is published).
template <typename T>
class TripleBuffer {
public:
    template <typename Init>
    explicit TripleBuffer(Init init) {
        for (T& b : buffers_) init(b);
    }
    T& writeBuffer() { return buffers_[back_]; }
    void publish() { back_ = middle_.exchange(back_ | kFresh, std::memory_order_acq_rel) & kIndex; }
    bool take() {
        if (!(middle_.load(std::memory_order_relaxed) & kFresh)) return false;
        front_ = middle_.exchange(front_, std::memory_order_acq_rel) & kIndex;
        return true;
    }
    const T& readBuffer() const { return buffers_[front_]; }
    bool fresh() const { return middle_.load(std::memory_order_acquire) & kFresh; }

private:
    static constexpr int kFresh = 4, kIndex = 3;
    T buffers_[3];
    std::atomic<int> middle_{1};
    int back_ = 0, front_ = 2;
};

}  // namespace

struct FilterBank::Engine {
    double fs;
    int channels, maxBands, slotsPadded, channelsPadded;
    int64_t interval;     // control interval K (power of two)
    int64_t rampSamples;  // S

    TripleBuffer<Message> mailbox;          // parameter sets: control thread -> audio thread
    TripleBuffer<std::vector<Biquad>> applied;  // coefficients in use: audio thread -> control thread
    uint64_t appliedVersion = 0;            // coefVersion when `applied` was last published
    std::mutex appliedReader;               // appliedResponseDb may be called from any thread
    std::atomic<bool> resetRequested{false};
    std::atomic<bool> rampingFlag{false};

    // audio-thread state
    int64_t pos = 0;  // samples since construction / reset
    int active = 0;   // slots processed: [0, active)
    std::vector<Slot> target, from, pendingTarget;
    std::vector<Slot> to;  // a Param ramp's end: target, or the band at 0 dB where a gain band switches off
    std::vector<RampMode> mode;
    std::vector<Biquad> coefStatic, coefFrom, coefTo;
    bool rampActive = false, pending = false;
    bool retiring = false;  // a band switched off still runs as its 0 dB design (retireSilentBands)
    int64_t rampStart = 0, rampEnd = 0, pendingAt = 0;
    // Bumped whenever mode or coefStatic change; the per-call bookkeeping below (slots needed, layout,
    // constant coefficients) is recomputed only when it, or what else it depends on, changed.
    uint64_t coefVersion = 1;
    uint64_t neededVersion = 0;
    int needed = 0;
    struct CacheKey {
        uint64_t coefVersion = 0;  // 0 where it does not matter (the layout)
        int width = 0, active = -1, chunk = 0;
        bool ramp = false;
        bool operator==(const CacheKey& o) const {
            return coefVersion == o.coefVersion && width == o.width && active == o.active && chunk == o.chunk &&
                   ramp == o.ramp;
        }
    };
    CacheKey layoutKey, constCoefsKey;  // what `layout` and `constCoefs` were computed for

    std::vector<double> state;  // [channelsPadded][slotsPadded][4]: x1, x2, y1, y2, scaled by stateScale
    // per slot: the steady form's scale of its output (product of b0 up to it), whether the steady
    // form is normalized, for which coefVersion; the form and scale the stored state has now
    std::vector<double> steadyScale, stateScale;
    bool steadyNormalized = false;
    uint64_t steadyVersion = 0;
    bool stateRamp = false;  // the form of the last pass: plain ramp, or the steady form
    uint64_t stateScaleVersion = 0;
    int64_t secondBuffer;          // offset of buffer 1 in `buffers`
    std::vector<double> buffers;   // two buffers (0: input, passes ping-pong); per group [t][cpv]
    std::vector<KernelCoefs> control;  // [kMaxControlPoints][maxBands]
    // what `control` holds: the sub-block's points from controlFirst on, designed for controlVersion
    // (a ramp sub-block's last point is the next one's first; publishApplied interpolates between them)
    int64_t controlFirst = -1;
    int controlCount = 0;
    uint64_t controlVersion = 0;
    std::vector<RampPath> path;        // per slot, for Param ramps
    alignas(64) double constCoefs[detail::kMaxVectorsPerChain * kNumCoefs * kMaxWidth];
    alignas(64) double passState[detail::kMaxVectorsPerChain * detail::kStateValues * kMaxWidth];  // >= groups * vectors
    std::vector<double> pointCoefs;    // [kMaxControlPoints][kMaxVectorsPerChain][5][kMaxWidth]

    Engine(double sampleRate, int ch, int bands, int64_t k, int64_t s)
        : fs(sampleRate), channels(ch), maxBands(bands),
          // a chunk may extend past the last band by up to one chain (identity sections, zero state)
          slotsPadded(static_cast<int>(roundUp(bands, kMaxWidth)) + detail::kMaxVectorsPerChain * kMaxWidth),
          channelsPadded(static_cast<int>(roundUp(ch, kMaxWidth))), interval(k), rampSamples(s),
          mailbox([bands](Message& m) { m.slots.resize(bands); }),
          applied([bands](std::vector<Biquad>& c) { c.assign(bands, Biquad{}); }), target(bands), from(bands), pendingTarget(bands), to(bands), mode(bands, RampMode::Static),
          coefStatic(bands), coefFrom(bands), coefTo(bands),
          state(static_cast<size_t>(channelsPadded) * slotsPadded * detail::kStateValues, 0.0),
          steadyScale(static_cast<size_t>(slotsPadded), 1.0), stateScale(static_cast<size_t>(slotsPadded), 1.0),
          secondBuffer(roundUp(channelsPadded * kGroupStride, kPageDoubles) + kHalfPageDoubles),
          buffers(static_cast<size_t>(2 * secondBuffer), 0.0),
          control(static_cast<size_t>(kMaxControlPoints) * bands), path(bands),
          pointCoefs(static_cast<size_t>(kMaxControlPoints) * detail::kMaxVectorsPerChain * kNumCoefs * kMaxWidth,
                     0.0) {}

    double rampU(int64_t p) const {
        if (rampSamples == 0) return 1.0;
        return p <= rampStart ? 0.0 : static_cast<double>(p - rampStart) / static_cast<double>(rampSamples);
    }

    // The slot's parameters at control point p (Static and Param slots).
    Slot paramsAt(int i, int64_t p) const {
        if (mode[i] != RampMode::Param) return target[i];
        const double u = rampU(p);
        if (u >= 1.0) return to[i];
        Slot s = to[i];
        const RampPath& r = path[i];
        s.band.gainDb = from[i].band.gainDb + (to[i].band.gainDb - from[i].band.gainDb) * u;
        // a parameter that does not move costs no exp()
        if (r.logF0 != r.logF1) s.band.freq = std::exp(r.logF0 + (r.logF1 - r.logF0) * u);
        if (r.logQ0 != r.logQ1) s.band.q = std::exp(r.logQ0 + (r.logQ1 - r.logQ0) * u);
        return s;
    }

    // The slot's exact coefficients at control point p.
    Biquad coefAt(int i, int64_t p) const {
        switch (mode[i]) {
            case RampMode::Static: return coefStatic[i];
            case RampMode::Param: {
                // the end points exactly: where the ramp starts, the coefficients in use before it
                if (p <= rampStart) return coefFrom[i];
                if (rampU(p) >= 1.0) return coefTo[i];
                const Slot s = paramsAt(i, p);
                // exp instead of the cookbook's pow(10, gain / 40), ~10 ns less per design (a ramp
                // designs every moving slot at every control point); only the end points, designed
                // by rbjDesign, must match eqdef to the last bit
                const double bigA = std::exp(s.band.gainDb * (2.30258509299404568402 / 40.0));
                if (path[i].fixedFreq)
                    return rbjDesignTrigA(s.band.type, path[i].cosW0, path[i].sinW0, bigA, s.band.q);
                const double w0 = 2.0 * 3.14159265358979323846 * s.band.freq / fs;
                return rbjDesignTrigA(s.band.type, std::cos(w0), std::sin(w0), bigA, s.band.q);
            }
            case RampMode::Coef:
            default: {
                const double u = rampU(p);
                if (u >= 1.0) return coefTo[i];
                const Biquad &a = coefFrom[i], &b = coefTo[i];
                return Biquad{a.b0 + (b.b0 - a.b0) * u, a.b1 + (b.b1 - a.b1) * u, a.b2 + (b.b2 - a.b2) * u,
                              a.a1 + (b.a1 - a.a1) * u, a.a2 + (b.a2 - a.a2) * u};
            }
        }
    }

    double* stateOf(int channel, int slot) {
        return &state[(static_cast<size_t>(channel) * slotsPadded + slot) * detail::kStateValues];
    }

    // Slots that are the identity and no longer ring do not need processing.
    void updateActive() {
        if (retiring) retireSilentBands();
        if (neededVersion != coefVersion) {
            needed = 0;
            for (int i = 0; i < maxBands; ++i)
                if (mode[i] != RampMode::Static || coefStatic[i] != Biquad{}) needed = i + 1;
            neededVersion = coefVersion;
        }
        if (needed >= active) {
            // a slot taken back into processing starts from its input's history (its predecessor's
            // output, or silence for the first), as the identity it is at that moment
            for (int i = active; i < needed; ++i)
                for (int c = 0; c < channelsPadded; ++c) {
                    double* s = stateOf(c, i);
                    const double h1 = i > 0 ? stateOf(c, i - 1)[2] : 0.0, h2 = i > 0 ? stateOf(c, i - 1)[3] : 0.0;
                    s[0] = s[2] = h1;
                    s[1] = s[3] = h2;
                }
            active = needed;
            return;
        }
        // an identity slot's output equals its input two samples after its coefficients became the
        // identity; drop it only once that happened
        while (active > needed && settled(active - 1)) {
            --active;
            for (int c = 0; c < channelsPadded; ++c) std::fill_n(stateOf(c, active), detail::kStateValues, 0.0);
        }
    }

    // The slot's output history equals its input history (to kSettledTolerance), on every channel:
    // a section with an identity response then adds nothing more.
    bool settled(int slot) {
        for (int c = 0; c < channels; ++c) {
            const double* s = stateOf(c, slot);
            for (int k = 0; k < 2; ++k)
                if (std::fabs(s[k] - s[k + 2]) > kSettledTolerance * (std::fabs(s[k]) + std::fabs(s[k + 2]))) return false;
        }
        return true;
    }

    // Bands switched off (0 dB designs: the identity's response, still ringing) become the identity
    // once their ringing has died away.
    void retireSilentBands() {
        retiring = false;
        for (int i = 0; i < active; ++i) {
            if (target[i].on || mode[i] != RampMode::Static || coefStatic[i] == Biquad{}) continue;
            if (settled(i)) {
                coefStatic[i] = Biquad{};
                ++coefVersion;
            } else {
                retiring = true;
            }
        }
    }

    // The steady form for coefStatic: normalized with the products of b0 as scales where they stay in
    // range, else plain (all scales 1).
    void updateSteadyScale() {
        if (steadyVersion == coefVersion) return;
        steadyVersion = coefVersion;
        steadyNormalized = true;
        double product = 1.0;
        for (int i = 0; i < slotsPadded; ++i) {
            if (i < maxBands) product *= coefStatic[i].b0;
            if (!(product >= kMinPooledGain && product <= kMaxPooledGain)) steadyNormalized = false;
            steadyScale[i] = product;
        }
        if (!steadyNormalized) std::fill(steadyScale.begin(), steadyScale.end(), 1.0);
    }

    // Brings the stored state to the scales the next pass runs with: the steady form's, or 1 (plain)
    // during ramps. This happens only where the coefficients or the form change (ramps start and end
    // on control points), so it does not depend on the block sizes.
    void syncStateScale(bool ramp) {
        updateSteadyScale();
        if (stateScaleVersion == coefVersion && stateRamp == ramp) return;
        stateScaleVersion = coefVersion;
        stateRamp = ramp;
        double previousOld = 1.0, previousNew = 1.0;  // the scales of slot i - 1 (slot 0's input: 1)
        for (int i = 0; i < slotsPadded; ++i) {
            const double next = ramp ? 1.0 : steadyScale[i];
            // slots past `active` hold zeros (moveState, updateActive)
            if (i < active && (next != stateScale[i] || previousOld != previousNew)) {
                const double fx = previousOld / previousNew, fy = stateScale[i] / next;
                for (int c = 0; c < channels; ++c) {
                    double* s = stateOf(c, i);
                    s[0] *= fx;
                    s[1] *= fx;
                    s[2] *= fy;
                    s[3] *= fy;
                }
            }
            previousOld = stateScale[i];
            previousNew = next;
            stateScale[i] = next;
        }
    }

    void applyImmediate(const std::vector<Slot>& slots) {
        for (int i = 0; i < maxBands; ++i) {
            target[i] = slots[i];
            mode[i] = RampMode::Static;
            coefStatic[i] = designSlot(slots[i], fs);
        }
        rampActive = pending = false;
        ++coefVersion;
    }

    void startRamp() {
        const int64_t p = pendingAt;
        // a set equal to the target in force changes nothing: no new ramp, and a ramp toward it goes
        // on (a host that posts its bands every block would otherwise restart the ramp every block,
        // approach the target without reaching it, and run the slower ramping pass all the time)
        if (std::equal(target.begin(), target.end(), pendingTarget.begin())) {
            pending = false;
            return;
        }
        for (int i = 0; i < maxBands; ++i) {
            const Slot& next = pendingTarget[i];
            const Biquad now = coefAt(i, p);
            const bool midCoefRamp = rampActive && mode[i] == RampMode::Coef;
            const Slot current = paramsAt(i, p);
            RampMode m;
            if (midCoefRamp) {
                m = RampMode::Coef;
            } else if (current == next) {
                m = RampMode::Static;
            } else if (current.on && next.on && current.band.type == next.band.type) {
                m = RampMode::Param;
                startParamRamp(i, current, next);
            } else if (current.on != next.on && hasGain((current.on ? current : next).band.type)) {
                // a peak or shelf switched on or off: its gain ramps from or to 0 dB, where it is the
                // identity. A coefficient crossfade would lose a resonant band's effect within a few
                // samples near its centre (8-9 dB more energy above 4 kHz than an ideal crossfade of
                // the outputs, against 26-33 dB less for a gain ramp: test_filterbank.py).
                Slot silent = current.on ? current : next;
                silent.band.gainDb = 0.0;
                m = RampMode::Param;
                startParamRamp(i, current.on ? current : silent, next.on ? next : silent);
            } else {
                m = RampMode::Coef;
            }
            mode[i] = m;
            target[i] = next;
            // a band switched on starts from its 0 dB design: the same (identity) response as the off
            // slot, whose output equals its input or still carries a decaying residue
            coefFrom[i] = m == RampMode::Param && !current.on ? designSlot(from[i], fs) : now;
            // Static slots keep `now` (finishRamp does not read their coefTo)
            coefTo[i] = m == RampMode::Static ? now
                        : m == RampMode::Param
                            ? rbjDesignTrig(to[i].band.type, path[i].cosW0, path[i].sinW0, to[i].band.gainDb, to[i].band.q)
                            : designSlot(next, fs);
            coefStatic[i] = now;
        }
        pending = false;
        rampActive = true;
        ++coefVersion;
        rampStart = p;
        rampEnd = p + roundUp(rampSamples, interval);
    }

    // A Param ramp from slot a to slot b (both on, of one type): gain linear in dB, frequency and Q on
    // a log scale.
    void startParamRamp(int i, const Slot& a, const Slot& b) {
        from[i] = a;
        to[i] = b;
        // w0 exactly as rbjDesign computes it, so coefTo is rbjDesign(b); a parameter that does not
        // move costs no log()
        const double w0 = 2.0 * 3.14159265358979323846 * b.band.freq / fs;
        const double logF0 = std::log(a.band.freq), logQ0 = std::log(a.band.q);
        path[i] = RampPath{logF0,
                           a.band.freq == b.band.freq ? logF0 : std::log(b.band.freq),
                           logQ0,
                           a.band.q == b.band.q ? logQ0 : std::log(b.band.q),
                           std::cos(w0),
                           std::sin(w0),
                           a.band.freq == b.band.freq};
    }

    void finishRamp() {
        for (int i = 0; i < maxBands; ++i) {
            // a band switched off ends as its 0 dB design: the identity's response, but its state still
            // rings down from the ramp (dropping that at once added 38-45 dB of energy above 4 kHz);
            // updateActive makes it the identity once its output equals its input (settled)
            if (mode[i] == RampMode::Param && !target[i].on) retiring = true;
            if (mode[i] != RampMode::Static) coefStatic[i] = coefTo[i];
            mode[i] = RampMode::Static;
        }
        rampActive = false;
        ++coefVersion;
    }

    void doReset() {
        std::fill(state.begin(), state.end(), 0.0);
        pos = 0;
        if (pending) std::copy(pendingTarget.begin(), pendingTarget.end(), target.begin());
        applyImmediate(target);
    }

    // ---- the processing path ----

    struct Layout {
        int cpv;       // channels per vector
        int depth;     // sections per vector
        int vectors;   // vectors per chain (chunk = vectors * depth sections)
        int chunks, groups;
        int maxGroups;  // per pass: 4 in the 1- and 2-lane kernels, else 2 (kernel_api.h)
        int groupsPerPass() const {
            return vectors > 1 ? 1 : groups >= maxGroups ? maxGroups : groups >= 2 ? 2 : 1;
        }
    };
    Layout layout{};  // chooseLayout for layoutKey

    // Rough cost model in cycles: a pass runs (groups per pass) x vectors independent chains; a step
    // is bound by the chain's latency (~13 cycles, measured before the kernels fused multiply-adds
    // and skewed short chains) or by issue (~5.5 cycles per vector). For 2 and 16 channels on
    // AVX-512 and AVX2 it still picks the fastest pass measured (docs/dsp.md). Ramps run with one
    // vector per chain except where they interpolate along time (kernel_impl.h).
    Layout chooseLayout(int width, bool ramp) const {
        Layout best{};
        double bestCost = -1.0;
        for (int cpv = 1; cpv <= width; cpv *= 2) {
            if (cpv > 1 && cpv / 2 >= channels) break;
            const int depth = width / cpv;
            const int groups = (channels + cpv - 1) / cpv;
            const bool laneRamp = ramp && !(cpv == width && width >= detail::kMinTimeRampWidth);
            const int maxVectors = laneRamp ? 1 : detail::kMaxVectorsPerChain;
            const int maxGroups = width <= detail::kMaxWidthForFourGroups ? 4 : 2;
            for (int vectors = 1; vectors <= maxVectors; ++vectors) {
                if (vectors > 1 && (vectors - 1) * depth >= active) break;
                Layout l{cpv, depth, vectors, (active + vectors * depth - 1) / (vectors * depth), groups, maxGroups};
                const int perPass = l.groupsPerPass();
                const double passes = static_cast<double>(l.chunks) * ((groups + perPass - 1) / perPass);
                const double cost = passes * static_cast<double>(kSubBlock + vectors * depth - 1) *
                                    std::max(13.0, 5.5 * vectors * perPass);
                if (bestCost < 0.0 || cost < bestCost) {
                    bestCost = cost;
                    best = l;
                }
            }
        }
        return best;
    }

    double* groupBuffer(int buffer, int group) {
        return buffers.data() + buffer * secondBuffer + group * kGroupStride;
    }

    void computeControlPoints(int64_t n) {
        const int64_t first = floorTo(pos, interval);
        const int64_t last = floorTo(pos + n - 1, interval) + interval;
        const int count = static_cast<int>((last - first) / interval) + 1;
        // points the previous ramp sub-block designed (its last, or with blocks shorter than the
        // interval all of them) move to the front instead of being designed again
        int reused = 0;
        if (controlVersion == coefVersion && first >= controlFirst) {
            const int64_t shift = (first - controlFirst) / interval;
            if (shift < controlCount) {
                reused = static_cast<int>(std::min<int64_t>(controlCount - shift, count));
                for (int c = 0; shift > 0 && c < reused; ++c)
                    std::copy_n(&control[static_cast<size_t>(c + shift) * maxBands], active,
                                &control[static_cast<size_t>(c) * maxBands]);
            }
        }
        for (int i = 0; i < active; ++i) {
            const KernelCoefs fixed = kernelCoefs(coefStatic[i]);
            for (int c = reused; c < count; ++c)
                control[static_cast<size_t>(c) * maxBands + i] =
                    mode[i] == RampMode::Static ? fixed : kernelCoefs(coefAt(i, first + c * interval));
        }
        controlFirst = first;
        controlCount = count;
        controlVersion = coefVersion;
    }

    // The slot that lane group `group` of vector v runs in a pass over `chunk`, or -1 where the group
    // is idle (descending lanes, kernel_api.h: section j of the chunk's `used` in group used-1-j).
    int slotOfLaneGroup(const Layout& l, bool descending, int chunk, int v, int group) const {
        const int first = chunk * l.vectors * l.depth;
        if (!descending) return first + v * l.depth + group;
        const int used = std::min(l.depth, active - first);
        return group < used ? first + used - 1 - group : -1;
    }

    // Per control point of the sub-block, vector of the chain and lane: the coefficients of the lane's
    // section, [p][vector][5][width] (the kernel interpolates between consecutive points, see
    // kernel_impl.h).
    void fillControlPoints(const Layout& l, bool descending, int chunk, int64_t n) {
        const int width = l.cpv * l.depth;
        const int64_t first = floorTo(pos, interval);
        const int count = static_cast<int>((floorTo(pos + n - 1, interval) + interval - first) / interval) + 1;
        const KernelCoefs identity = kernelCoefs(Biquad{});
        int cpvShift = 0;  // lane i is in lane group i >> cpvShift (cpv is a power of two)
        while ((1 << cpvShift) < l.cpv) ++cpvShift;
        int laneSlot[detail::kMaxVectorsPerChain][kMaxWidth];  // -1: identity
        for (int v = 0; v < l.vectors; ++v)
            for (int i = 0; i < width; ++i) {
                const int slot = slotOfLaneGroup(l, descending, chunk, v, i >> cpvShift);
                laneSlot[v][i] = slot < active ? slot : -1;
            }
        const KernelCoefs* lane[kMaxWidth];
        double* out = pointCoefs.data();
        for (int p = 0; p < count; ++p)
            for (int v = 0; v < l.vectors; ++v, out += kNumCoefs * width) {
                for (int i = 0; i < width; ++i)
                    lane[i] = laneSlot[v][i] >= 0 ? &control[static_cast<size_t>(p) * maxBands + laneSlot[v][i]] : &identity;
                for (int k = 0; k < kNumCoefs; ++k)
                    for (int i = 0; i < width; ++i) out[k * width + i] = lane[i]->v[k];
            }
    }

    void fillConst(const Layout& l, bool descending, int chunk) {
        const int width = l.cpv * l.depth;
        for (int v = 0; v < l.vectors; ++v)
            for (int group = 0; group < l.depth; ++group) {
                const int slot = slotOfLaneGroup(l, descending, chunk, v, group);
                const Biquad b = slot >= 0 && slot < active ? coefStatic[slot] : Biquad{};
                const KernelCoefs c = steadyNormalized ? normalizedCoefs(b) : kernelCoefs(b);
                for (int k = 0; k < kNumCoefs; ++k)
                    for (int cl = 0; cl < l.cpv; ++cl)
                        constCoefs[(v * kNumCoefs + k) * width + group * l.cpv + cl] = c.v[k];
            }
    }

    // Slots past `active` run as the identity, whatever their history: their state stays zero, the
    // same for every layout; idle lanes start from zero.
    void moveState(const Layout& l, bool descending, int chunk, int group0, int groups, bool toPass) {
        const int width = l.cpv * l.depth;
        for (int g = 0; g < groups; ++g)
            for (int cl = 0; cl < l.cpv; ++cl) {
                const int ch = (group0 + g) * l.cpv + cl;
                for (int v = 0; v < l.vectors; ++v) {
                    double* p = &passState[(detail::kStateValues * (g * l.vectors + v)) * width + cl];
                    for (int group = 0; group < l.depth; ++group, p += l.cpv) {
                        const int slot = slotOfLaneGroup(l, descending, chunk, v, group);
                        if (toPass) {
                            for (int k = 0; k < detail::kStateValues; ++k) p[k * width] = slot >= 0 ? stateOf(ch, slot)[k] : 0.0;
                        } else if (slot >= 0 && slot < active) {
                            for (int k = 0; k < detail::kStateValues; ++k) stateOf(ch, slot)[k] = p[k * width];
                        }
                    }
                }
            }
    }

    void runSubBlock(const KernelTable& k, const Layout& l, const float* const* in, float* const* out,
                     int64_t off, int64_t n, bool ramp) {
        const float* inAt[kMaxChannelsPadded];
        float* outAt[kMaxChannelsPadded];
        for (int c = 0; c < channels; ++c) {
            inAt[c] = in[c] + off;
            outAt[c] = out[c] + off;
        }
        if (active == 0) {
            for (int c = 0; c < channels; ++c) {
                k.loadGroup(inAt + c, 1, buffers.data(), n, 1);
                k.storeGroup(buffers.data(), outAt + c, 1, n, 1, 1.0);
            }
            return;
        }
        syncStateScale(ramp);
        const bool normalized = !ramp && steadyNormalized;
        const bool descending = k.descendingLanes && l.vectors == 1 && l.cpv < k.width && !ramp;
        for (int g = 0; g < l.groups; ++g)
            k.loadGroup(inAt + g * l.cpv, std::min(l.cpv, channels - g * l.cpv), groupBuffer(0, g), n, l.cpv);
        if (ramp) computeControlPoints(n);
        int src = 0, dst = 1;
        for (int chunk = 0; chunk < l.chunks; ++chunk) {
            const CacheKey constKey{coefVersion, k.width, active, chunk, false};
            if (ramp) {
                fillControlPoints(l, descending, chunk, n);
            } else if (!(constCoefsKey == constKey)) {
                fillConst(l, descending, chunk);
                constCoefsKey = constKey;
            }
            for (int g0 = 0; g0 < l.groups;) {
                const int left = l.groups - g0;
                const int most = std::min(left, l.groupsPerPass());
                const int groups = most >= 4 ? 4 : most >= 2 ? 2 : 1;
                PassArgs a{};
                a.cpv = l.cpv;
                a.groups = groups;
                a.vectors = l.vectors;
                a.sectionsUsed = std::min(l.vectors * l.depth, active - chunk * l.vectors * l.depth);
                a.ramp = ramp;
                a.normalized = normalized;
                a.frames = n;
                for (int g = 0; g < groups; ++g) {
                    a.src[g] = groupBuffer(src, g0 + g);
                    a.dst[g] = groupBuffer(dst, g0 + g);
                }
                a.state = passState;
                a.coefs = ramp ? pointCoefs.data() : constCoefs;
                a.rampOffset = pos - floorTo(pos, interval);
                a.interval = interval;
                moveState(l, descending, chunk, g0, groups, true);
                k.pass(a);
                moveState(l, descending, chunk, g0, groups, false);
                g0 += groups;
            }
            std::swap(src, dst);
        }
        for (int g = 0; g < l.groups; ++g)
            k.storeGroup(groupBuffer(src, g), outAt + g * l.cpv, std::min(l.cpv, channels - g * l.cpv), n, l.cpv,
                         normalized ? steadyScale[slotsPadded - 1] : 1.0);
    }

    void process(const float* const* in, float* const* out, int64_t frames) {
        FlushDenormals ftz;
        const KernelTable& k = detail::activeKernel();
        // a plain load first: the exchange is a locked instruction, needed only when a reset is posted
        if (resetRequested.load(std::memory_order_relaxed) && resetRequested.exchange(false, std::memory_order_acq_rel))
            doReset();
        if (mailbox.take()) {
            const Message& m = mailbox.readBuffer();
            // before the first sample after construction or reset() there is nothing to ramp from:
            // the newest set applies at once, however many were posted (the flag marks only the first)
            if (m.immediate || pos == 0) {
                applyImmediate(m.slots);
            } else {
                std::copy(m.slots.begin(), m.slots.end(), pendingTarget.begin());
                pending = true;
                pendingAt = roundUp(pos, interval);
            }
        }
        updateActive();
        for (int64_t off = 0; off < frames;) {
            if (rampActive && pos >= rampEnd) finishRamp();
            if (pending && pos == pendingAt) {
                startRamp();
                updateActive();
                if (rampActive && pos >= rampEnd) finishRamp();  // a zero-length ramp
            }
            const CacheKey key{0, k.width, active, 0, rampActive};
            if (!(layoutKey == key)) {
                layout = chooseLayout(k.width, rampActive);
                layoutKey = key;
            }
            const Layout& l = layout;
            int64_t n = std::min<int64_t>(frames - off, kSubBlock);
            if (pending) n = std::min(n, pendingAt - pos);
            if (rampActive) n = std::min(n, rampEnd - pos);
            runSubBlock(k, l, in, out, off, n, rampActive);
            pos += n;
            off += n;
        }
        if (rampActive && pos >= rampEnd) finishRamp();
        rampingFlag.store(rampActive || pending, std::memory_order_relaxed);
        publishApplied();
    }

    // The coefficients at the end of the last block, for appliedResponseDb: re-published only while
    // they move or after they changed. Mid-ramp a moving slot's are interpolated between the control
    // points the kernel used, as the kernel does (no design).
    void publishApplied() {
        if (!rampActive && appliedVersion == coefVersion) return;
        std::vector<Biquad>& c = applied.writeBuffer();
        const int64_t offset = pos - controlFirst;
        if (rampActive && controlVersion == coefVersion && offset >= 0 && offset <= (controlCount - 1) * interval) {
            const int64_t q = std::min<int64_t>(offset / interval, controlCount - 2);
            const double frac = static_cast<double>(offset - q * interval) / static_cast<double>(interval);
            for (int i = 0; i < maxBands; ++i) {
                if (i >= active || mode[i] == RampMode::Static) {
                    c[i] = coefStatic[i];
                    continue;
                }
                const KernelCoefs& p0 = control[static_cast<size_t>(q) * maxBands + i];
                const KernelCoefs& p1 = control[static_cast<size_t>(q + 1) * maxBands + i];
                double v[kNumCoefs];
                for (int k = 0; k < kNumCoefs; ++k) v[k] = p0.v[k] + (p1.v[k] - p0.v[k]) * frac;
                c[i] = Biquad{v[0], v[1], v[2], v[3], v[4]};
            }
        } else {
            for (int i = 0; i < maxBands; ++i) c[i] = coefAt(i, pos);
        }
        applied.publish();
        appliedVersion = coefVersion;
    }
};

namespace {

std::string num(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

[[noreturn]] void rejectBand(int index, const std::string& what) {
    throw std::invalid_argument("band " + std::to_string(index) + ": " + what);
}

}  // namespace

void validateBand(const Band& band, double sampleRate, int index) {
    const int type = static_cast<int>(band.type);
    if (type < 0 || type >= kNumBandTypes)
        rejectBand(index, "unknown band type code " + std::to_string(type) +
                              "; accepted: 0 peak, 1 lowshelf, 2 highshelf, 3 lowpass, 4 highpass");
    const double nyquist = sampleRate / 2.0;
    if (!std::isfinite(band.freq) || !(band.freq > 0.0) || !(band.freq < nyquist))
        rejectBand(index, "frequency " + num(band.freq) +
                              " Hz is outside the accepted range: finite, 0 < freq < sample_rate/2 = " + num(nyquist) +
                              " Hz");
    if (!std::isfinite(band.gainDb) || std::fabs(band.gainDb) > FilterBank::kMaxGainDb)
        rejectBand(index, "gain " + num(band.gainDb) + " dB is outside the accepted range: finite, within +/-" +
                              num(FilterBank::kMaxGainDb) + " dB");
    if (!std::isfinite(band.q) || band.q < FilterBank::kMinQ || band.q > FilterBank::kMaxQ)
        rejectBand(index, "Q " + num(band.q) + " is outside the accepted range: finite, " + num(FilterBank::kMinQ) +
                              " <= Q <= " + num(FilterBank::kMaxQ));
}

FilterBank::FilterBank(double sampleRate, int channels, int maxBands, double smoothingMs)
    : sampleRate_(sampleRate), channels_(channels), maxBands_(maxBands), smoothingMs_(smoothingMs) {
    if (!std::isfinite(sampleRate) || sampleRate < 1000.0 || sampleRate > 1e6)
        throw std::invalid_argument("sample_rate " + num(sampleRate) +
                                    " Hz is outside the accepted range 1000..1000000 Hz");
    if (channels < 1 || channels > kMaxChannels)
        throw std::invalid_argument("channels " + std::to_string(channels) + " is outside the accepted range 1.." +
                                    std::to_string(kMaxChannels));
    if (maxBands < 1 || maxBands > kMaxBandsLimit)
        throw std::invalid_argument("max_bands " + std::to_string(maxBands) + " is outside the accepted range 1.." +
                                    std::to_string(kMaxBandsLimit));
    if (!std::isfinite(smoothingMs) || smoothingMs < 0.0 || smoothingMs > kMaxSmoothingMs)
        throw std::invalid_argument("smoothing_ms " + num(smoothingMs) +
                                    " is outside the accepted range 0.." + num(kMaxSmoothingMs) + " ms");
    // control points every ~1.3-2.7 ms: the largest power of two <= fs / 375, within [16, 256]
    int64_t k = 16;
    while (k * 2 <= sampleRate / 375.0 && k < 256) k *= 2;
    controlInterval_ = static_cast<int>(k);
    const auto rampSamples = static_cast<int64_t>(std::llround(smoothingMs * sampleRate / 1000.0));
    engine_ = std::make_unique<Engine>(sampleRate, channels, maxBands, k, rampSamples);
    detail::activeKernel();  // resolve the kernel here, not on the audio thread
}

FilterBank::~FilterBank() = default;

void FilterBank::setBands(const Band* bands, int count) {
    if (count < 0 || count > maxBands_)
        throw std::invalid_argument("got " + std::to_string(count) + " bands; this bank accepts 0.." +
                                    std::to_string(maxBands_) + " (max_bands)");
    for (int i = 0; i < count; ++i) validateBand(bands[i], sampleRate_, i);
    Message& m = engine_->mailbox.writeBuffer();
    for (int i = 0; i < maxBands_; ++i) {
        // a peak or shelf at 0 dB is the identity: off, so that it passes audio through bit-exactly
        // (its design's rounding would not) and costs nothing
        m.slots[i].on = i < count && !(hasGain(bands[i].type) && bands[i].gainDb == 0.0);
        m.slots[i].band = i < count ? bands[i] : Band{};
    }
    m.immediate = nextApplyImmediate_.exchange(false);
    targetBands_.assign(bands, bands + count);
    engine_->mailbox.publish();
}

void FilterBank::process(const float* const* in, float* const* out, int64_t frames) noexcept {
    if (frames > 0) engine_->process(in, out, frames);
}

void FilterBank::reset() noexcept {
    nextApplyImmediate_.store(true);
    engine_->resetRequested.store(true, std::memory_order_release);
}

void FilterBank::appliedResponseDb(const double* freqs, double* out, int64_t count) const {
    std::lock_guard<std::mutex> lock(engine_->appliedReader);
    engine_->applied.take();  // one set for all frequencies
    const std::vector<Biquad>& coefs = engine_->applied.readBuffer();
    for (int64_t j = 0; j < count; ++j) {
        double total = 0.0;
        for (const Biquad& c : coefs) total += semeq::responseDb(c, freqs[j], sampleRate_);
        out[j] = total;
    }
}

double FilterBank::responseDb(double freq) const {
    double total = 0.0;
    for (const Band& b : targetBands_)
        total += semeq::responseDb(rbjDesign(b.type, b.freq, b.gainDb, b.q, sampleRate_), freq, sampleRate_);
    return total;
}

bool FilterBank::ramping() const noexcept {
    return engine_->rampingFlag.load(std::memory_order_relaxed) || engine_->mailbox.fresh();
}

const double* FilterBank::stateData() const noexcept { return engine_->state.data(); }

int FilterBank::stateSlotStride() const noexcept { return engine_->slotsPadded; }

FilterBank::KernelLayout FilterBank::kernelLayout() const {
    const auto l = engine_->chooseLayout(detail::activeKernel().width, false);
    return KernelLayout{l.cpv, l.depth, l.vectors, l.chunks, l.groups, l.groupsPerPass()};
}

}  // namespace semeq
