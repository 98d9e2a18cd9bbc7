// The wavefront biquad kernel, written once with GCC/Clang vector extensions and compiled once per
// instruction set (kernel_<isa>.cpp defines SEMEQ_KERNEL_NS, SEMEQ_KERNEL_WIDTH, SEMEQ_KERNEL_ENTRY).
//
// Layout: a vector of W doubles holds W/cpv sections x cpv channels; lane i runs section i/cpv of
// channel i%cpv (AVX-512 steady passes with one vector per chain: in descending order, see passImpl).
// At step t, section j of a chunk works on sample t-skew*j and takes as input what section j-1
// produced at step t-skew (a lane shift by cpv; skewFor below). Buffers between passes are compact,
// [t][cpv]: a step loads its cpv inputs with one broadcast load and stores the cpv lanes of the last
// section's output with one store, so the data of a pass stays in L1.
//
// Section arithmetic: direct form I, each lane keeping its section's last two inputs and outputs
// (x1, x2, y1, y2; section j's inputs are section j-1's outputs, so the chain's state is the signal
// between sections). Steady passes divide b0 out of every section,
//   y' = x' + (b1/b0) x1' + (b2/b0) x2' - a1 y1' - a2 y2',
// four multiply-adds, the new input only as an addend; the b0 of all sections are pooled into one
// gain that storeGroup applies (so a section's signals are scaled by the product of the b0 up to it:
// the engine converts the state when that product changes, filter_bank.cpp). Ramps interpolate the
// plain coefficients and run y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2 (five). The first and last
// LAG = skew*(depth-1) steps of a pass are masked so
// that, between calls, every section's state is at the same sample (canonical state: no added latency,
// any block size). Every lane does the same arithmetic in the same order, and the library is compiled
// with -ffp-contract=off, so only the explicit mulAdd/negMulAdd below fuse: the kernels with fused
// multiply-add (AVX2+FMA, AVX-512) give bit-identical output to each other, and so do the kernels
// without it (scalar, SSE2); the two families differ by the roundings the fusion saves (docs/dsp.md).
//
// Everything here lives in an ISA-specific anonymous namespace and uses no inline library templates
// with code, so nothing compiled for a wide ISA can be merged into baseline code by the linker.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernel_api.h"

#if defined(__AVX512F__) && SEMEQ_KERNEL_WIDTH == 8
#include <immintrin.h>
#define SEMEQ_KERNEL_AVX512 1
#define SEMEQ_KERNEL_FMA 1
#elif defined(__AVX__) && SEMEQ_KERNEL_WIDTH == 4
#include <immintrin.h>
#define SEMEQ_KERNEL_AVX 1
#if defined(__FMA__)
#define SEMEQ_KERNEL_FMA 1
#endif
#endif
#ifndef SEMEQ_KERNEL_FMA
#define SEMEQ_KERNEL_FMA 0
#endif

namespace semeq::detail::SEMEQ_KERNEL_NS {
namespace {

constexpr int W = SEMEQ_KERNEL_WIDTH;
typedef double V __attribute__((vector_size(W * sizeof(double))));
typedef long long M __attribute__((vector_size(W * sizeof(long long))));

inline __attribute__((always_inline)) V loadV(const double* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
}

inline __attribute__((always_inline)) void storeV(double* p, V v) { std::memcpy(p, &v, sizeof(V)); }

// a*b + c and c - a*b: one rounding where the ISA fuses (half the FP operations on the recursion),
// two elsewhere.
inline __attribute__((always_inline)) V mulAdd(V a, V b, V c) {
#if SEMEQ_KERNEL_FMA && defined(SEMEQ_KERNEL_AVX512)
    return (V)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
#elif SEMEQ_KERNEL_FMA
    return (V)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#else
    return a * b + c;
#endif
}

inline __attribute__((always_inline)) V negMulAdd(V a, V b, V c) {
#if SEMEQ_KERNEL_FMA && defined(SEMEQ_KERNEL_AVX512)
    return (V)_mm512_fnmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
#elif SEMEQ_KERNEL_FMA
    return (V)_mm256_fnmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#else
    return c - a * b;
#endif
}

// One output of a vector of sections, in one fixed order for every layout and for the chain
// benchmark. The recursion (y1 -> y) is the last operation, one fused multiply-add per sample; the new
// input enters first, so a section's result depends on its predecessor's through four (normalized) or
// two (plain) operations, which the skew covers (skewFor).
inline __attribute__((always_inline)) V sectionNormalized(V x, V x1, V x2, V y1, V y2, V c1, V c2, V a1, V a2) {
    return negMulAdd(a1, y1, negMulAdd(a2, y2, mulAdd(c2, x2, mulAdd(c1, x1, x))));
}

inline __attribute__((always_inline)) V sectionPlain(V x, V x1, V x2, V y1, V y2, V b0, V b1, V b2, V a1, V a2) {
    return negMulAdd(a1, y1, mulAdd(b0, x, negMulAdd(a2, y2, mulAdd(b2, x2, b1 * x1))));
}

template <std::size_t... I>
inline __attribute__((always_inline)) V splat(V v, std::index_sequence<I...>) {
    return __builtin_shufflevector(v, v, (int(I) * 0)...);
}

// One broadcast instruction (a per-lane insert loop would compile to W masked moves).
inline __attribute__((always_inline)) V broadcast(double x) {
    V v{};
    v[0] = x;
    return splat(v, std::make_index_sequence<W>{});
}

// cpv consecutive doubles repeated across the vector (one broadcast load). GCC widens a partial
// vector through the stack (a store-forwarding stall every step, measured 5x slower), hence the
// intrinsics where the ISA has the broadcast.
template <int CPV, std::size_t... I>
inline __attribute__((always_inline)) V loadRepeated(const double* p, std::index_sequence<I...>) {
    if constexpr (CPV == W) {
        return loadV(p);
#ifdef SEMEQ_KERNEL_AVX512
    } else if constexpr (CPV == 1) {
        // one broadcast from memory (broadcast(*p) adds a masked load and a lane shuffle)
        return (V)_mm512_set1_pd(*p);
    } else if constexpr (CPV == 2) {
        return (V)_mm512_broadcast_f64x2(_mm_loadu_pd(p));
    } else if constexpr (CPV == 4) {
        return (V)_mm512_broadcast_f64x4(_mm256_loadu_pd(p));
#endif
#ifdef SEMEQ_KERNEL_AVX
    } else if constexpr (CPV == 1) {
        return (V)_mm256_broadcast_sd(p);
    } else if constexpr (CPV == 2) {
        return (V)_mm256_broadcast_pd(reinterpret_cast<const __m128d*>(p));
#endif
    } else if constexpr (CPV == 1) {
        return broadcast(*p);
    } else {
        typedef double Part __attribute__((vector_size(CPV * sizeof(double))));
        Part part;
        std::memcpy(&part, p, sizeof(Part));
        return __builtin_shufflevector(part, part, (int(I) % CPV)...);
    }
}

// Lanes [lane, lane + cpv) of v -> p[0 .. cpv): lane = W - cpv, or any multiple of cpv with AVX-512
// (a masked store; lanes masked off neither write nor fault).
template <int CPV, std::size_t... J>
inline __attribute__((always_inline)) void storeLanes(double* p, V v, int lane, std::index_sequence<J...>) {
    if constexpr (CPV == W) {
        storeV(p, v);
    } else {
#ifdef SEMEQ_KERNEL_AVX512
        _mm512_mask_storeu_pd(p - lane, static_cast<__mmask8>(((1u << CPV) - 1u) << lane), (__m512d)v);
#else
        (void)lane;
        typedef double Part __attribute__((vector_size(CPV * sizeof(double))));
        const Part top = __builtin_shufflevector(v, v, (W - CPV + int(J))...);
        std::memcpy(p, &top, sizeof(Part));
#endif
    }
}

// Lanes [0, cpv) of v -> p[0 .. cpv) with one plain store of that width (a full-width store there
// would split a cache line in 7 of 8 steps).
template <int CPV>
inline __attribute__((always_inline)) void storeLow(double* p, V v) {
    if constexpr (CPV == W) {
        storeV(p, v);
    } else {
        for (int i = 0; i < CPV; ++i) p[i] = v[i];
    }
}

// Lanes [0, cpv) take the new input samples (the top cpv lanes of `in`); lane i >= cpv takes lane i-cpv
// of y (the previous section of the same channel, one step ago).
template <int CPV, std::size_t... I>
inline __attribute__((always_inline)) V shiftIn(V y, V in, std::index_sequence<I...>) {
    return __builtin_shufflevector(y, in, (int(I) < CPV ? 2 * W - CPV + int(I) : int(I) - CPV)...);
}

// The newest output first in the ring of the last S outputs (what the next sections read).
template <int S>
inline __attribute__((always_inline)) void shiftOutputs(V* yOut, V y) {
    for (int k = S - 1; k > 0; --k) yOut[k] = yOut[k - 1];
    yOut[0] = y;
}

// A live lane's step: its history moves on by one sample (x, y: this sample's input and output).
template <int S>
inline __attribute__((always_inline)) void advance(V& x1, V& x2, V& y1, V& y2, V* yOut, V x, V y) {
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    shiftOutputs<S>(yOut, y);
}

// f(integral_constant<I>) for each I, in order, inlined.
template <typename F, std::size_t... I>
inline __attribute__((always_inline)) void forEachIndex(F&& f, std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
}

#ifdef SEMEQ_KERNEL_AVX512
constexpr bool kSectionsUsedLanes = true;  // a masked store takes the output from any lane
constexpr bool kDescendingLanes = true;
// x[i] = y[index[i]] (index < W) or in[index[i] - W]: one two-source permute
inline __attribute__((always_inline)) V shiftDown(V y, V in, M index) {
    return (V)_mm512_permutex2var_pd((__m512d)y, (__m512i)index, (__m512d)in);
}
#else
constexpr bool kSectionsUsedLanes = false;
constexpr bool kDescendingLanes = false;
inline V shiftDown(V y, V, M) { return y; }  // not used
#endif

// Skew: section j of a chain works on sample t - skew * j and reads what its predecessor produced
// skew steps earlier, so the path from one section's output to the next one's (a lane shift and the
// operations before the recursion: four fused multiply-adds normalized, two plain, ~19 and ~11
// cycles) is spread over skew steps. A step of `chains` independent chains issues ~2.5 cycles of
// vector operations per chain (AVX-512, one FMA or shuffle per port and cycle) and cannot be shorter
// than the recursion (4 cycles): skew = ceil(path / max(4, 2.5 chains)) normalized; plain passes
// (ramps, which also interpolate their coefficients) need 2 up to two chains and 1 beyond. A larger
// skew only adds masked edge steps (skew * (sections - 1) per pass).
constexpr int skewFor(int chains, bool normalized) {
    return normalized ? (chains <= 1 ? 5 : chains == 2 ? 4 : chains == 3 ? 3 : 2) : chains <= 2 ? 2 : 1;
}

// Ramp with channels in lanes (CPV == W >= kMinTimeRampWidth): every lane of vector v runs section v
// on the same sample, so the coefficients are interpolated along time instead, W consecutive samples
// per vector operation, into a table tile[v][k][i] that step t0 + i reads with broadcasts. Sample
// `pos` (counted from the first control point of the pass) lies in interval q = pos / interval and
// uses c(q) + (c(q + 1) - c(q)) * frac, frac = (pos - q * interval) / interval: the same operations,
// in the same order, as the lane-wise ramp below, so both give identical coefficients.
template <int NV>
struct RampTiles {
    alignas(64) double tile[NV][kNumCoefs][W];
    // per vector: the interval whose c(q) and c(q + 1) - c(q) are cached; one tile in interval / W
    // crosses a control point, the others cost one multiply-add per coefficient (9.0 instead of
    // 10.6 ns a step for 8 channels x 5 sections on AVX-512)
    int64_t interval[NV];
    double from[NV][kNumCoefs], delta[NV][kNumCoefs];
};

template <int NV>
inline __attribute__((always_inline)) void fillRampTile(RampTiles<NV>& r, const PassArgs& a, int64_t t0, int skew,
                                                        int intervalShift, int64_t lastInterval) {
    constexpr auto kLanes = std::make_index_sequence<W>{};
    V iota;
    for (int i = 0; i < W; ++i) iota[i] = static_cast<double>(i);
    const V inv = broadcast(1.0 / static_cast<double>(a.interval));
    constexpr int64_t kNext = NV * kNumCoefs * W;  // the same coefficient at the next control point
    for (int v = 0; v < NV; ++v) {
        const int64_t base = a.rampOffset + t0 - skew * v;  // position of lane 0
        const int64_t q0 = base >> intervalShift;            // floor, also for the masked steps before 0
        // at most one control point inside the tile (interval >= 16 >= W); steps outside the pass
        // are masked, their indices are only clamped into the table
        const int64_t qa = q0 < 0 ? 0 : q0 > lastInterval ? lastInterval : q0;
        const int64_t qb = q0 + 1 > lastInterval ? lastInterval : q0 + 1 < 0 ? 0 : q0 + 1;
        const V pos = iota + static_cast<double>(base);
        const int64_t edge = (q0 + 1) * a.interval;
        const double* ta = a.coefs + (qa * NV + v) * (kNumCoefs * W);
        if (edge >= base + W) {  // the whole tile in one interval
            if (r.interval[v] != qa) {
                r.interval[v] = qa;
                for (int k = 0; k < kNumCoefs; ++k) {
                    r.from[v][k] = ta[k * W];
                    r.delta[v][k] = ta[k * W + kNext] - ta[k * W];
                }
            }
            const V frac = (pos - static_cast<double>(qa * a.interval)) * inv;
            for (int k = 0; k < kNumCoefs; ++k)
                storeV(r.tile[v][k], mulAdd(loadRepeated<1>(&r.delta[v][k], kLanes), frac,
                                            loadRepeated<1>(&r.from[v][k], kLanes)));
        } else {
            const double* tb = a.coefs + (qb * NV + v) * (kNumCoefs * W);
            const M later = pos >= static_cast<double>(edge);
            const V frac = (pos - (later ? broadcast(static_cast<double>(qb * a.interval))
                                         : broadcast(static_cast<double>(qa * a.interval)))) * inv;
            for (int k = 0; k < kNumCoefs; ++k) {
                const V fromA = loadRepeated<1>(ta + k * W, kLanes), toA = loadRepeated<1>(ta + k * W + kNext, kLanes);
                const V fromB = loadRepeated<1>(tb + k * W, kLanes), toB = loadRepeated<1>(tb + k * W + kNext, kLanes);
                storeV(r.tile[v][k], mulAdd(later ? toB - fromB : toA - fromA, frac, later ? fromB : fromA));
            }
        }
    }
}

// NV vectors form one chain (sections [v*D, (v+1)*D) in vector v; vector v takes its input from
// vector v-1's output skew steps earlier, a register move), G channel groups run side by side: NV * G
// independent dependency chains per step. Ramps with several sections per vector run with NV = 1.
// NORM: the steady form with b0 divided out (coefficient 0 unused, the caller applies the pooled
// gain); otherwise plain coefficients. Ramps are plain: the history of a normalized section is scaled
// by 1/b0, so where a ramp moved b0 far (a low-pass's frequency) that history met the new pooled gain
// and the output grew by orders of magnitude (the random-ramp robustness tests).
template <int CPV, int G, int NV, bool RAMP, bool NORM>
void passImpl(const PassArgs& a) {
    static_assert(!(RAMP && NORM), "ramps interpolate plain coefficients");
    constexpr bool kTimeRamp = RAMP && CPV == W && W >= kMinTimeRampWidth;
    static_assert(!RAMP || NV == 1 || kTimeRamp, "lane-wise ramps run one vector per chain");
    constexpr int D = W / CPV;     // sections per vector
    constexpr int DEPTH = NV * D;  // sections per chain
    constexpr int kSkew = skewFor(G * NV, NORM);
    // Descending lanes (AVX-512, one vector per chain, kernel_api.h): section j of the `used` ones in
    // lane group used-1-j, so that the chain's output is in lanes [0, cpv) and leaves with a plain
    // store (a masked store of the top lanes took 14 % of a stereo pass); lane groups >= used are idle.
    constexpr bool kDescending = kDescendingLanes && NV == 1 && CPV < W && !RAMP;  // (no idle lanes in ramps)
    // With one vector per chain (AVX-512) the output is taken from the last section in use (the
    // lanes after it run the identity), so the masked edges are as short as the sections need;
    // elsewhere from the top lanes of the last vector (identical: identity sections pass x exactly).
    const int used = kSectionsUsedLanes && NV == 1 ? a.sectionsUsed : DEPTH;
    const int outLane = ((used - 1) % D) * CPV;
    const int64_t LAG = kSkew * (used - 1);  // steps from a sample's input to its output
    const int64_t frames = a.frames;
    // per lane: its section (0 for idle lanes), and the step at which it starts (never for idle lanes)
    M laneSection[NV], laneStart[NV];
    for (int v = 0; v < NV; ++v)
        for (int i = 0; i < W; ++i) {
            const int group = i / CPV;
            const bool idle = kDescending && group >= used;
            laneSection[v][i] = idle ? 0 : kDescending ? used - 1 - group : v * D + group;
            laneStart[v][i] = idle ? (int64_t{1} << 40) : kSkew * laneSection[v][i];
        }
    [[maybe_unused]] M shiftIndex{};  // descending: lane i takes lane i + cpv, or the input in the first section's
    for (int i = 0; i < W; ++i) shiftIndex[i] = i / CPV < used - 1 ? i + CPV : W + i % CPV;

    // the lane's history (x1, x2, y1, y2), and yOut[g][v][s]: the output of step t-1-s (what the next
    // sections read s steps later)
    V x1[G][NV], x2[G][NV], y1[G][NV], y2[G][NV], yOut[G][NV][kSkew];
    const double* src[G];
    double* dst[G];
    for (int g = 0; g < G; ++g) {
        for (int v = 0; v < NV; ++v) {
            const double* st = a.state + kStateValues * (g * NV + v) * W;
            x1[g][v] = loadV(st);
            x2[g][v] = loadV(st + W);
            y1[g][v] = loadV(st + 2 * W);
            y2[g][v] = loadV(st + 3 * W);
            for (int k = 0; k < kSkew; ++k) yOut[g][v][k] = V{};
        }
        src[g] = a.src[g];
        dst[g] = a.dst[g];
    }
    V constCoefs[NV][kNumCoefs];
    if constexpr (!RAMP)
        for (int v = 0; v < NV; ++v)
            for (int k = 0; k < kNumCoefs; ++k) constCoefs[v][k] = loadV(a.coefs + (v * kNumCoefs + k) * W);

    // Ramp: each lane interpolates its section's coefficients between control points; `frac` steps by
    // 1/interval (exact: small multiples of a power of two), and when the lanes of section j reach the
    // next control point (in order of j, one lane group every skew steps) they load the next segment.
    V c0[kNumCoefs], dc[kNumCoefs], frac{};
    const double invInterval = 1.0 / static_cast<double>(a.interval);
    const V step1 = broadcast(invInterval);
    int64_t nextEvent = 0, eventPoint = 1;
    int eventSection = 0;
    RampTiles<kTimeRamp ? NV : 1> tiles;
    int intervalShift = 0;
    const int64_t lastInterval = (a.rampOffset + frames - 1) / a.interval;  // of the pass's last sample
    if constexpr (kTimeRamp) {
        while ((int64_t{1} << intervalShift) < a.interval) ++intervalShift;
        for (int v = 0; v < NV; ++v) tiles.interval[v] = -1;
    } else if constexpr (RAMP) {
        for (int k = 0; k < kNumCoefs; ++k) {
            c0[k] = loadV(a.coefs + k * W);
            dc[k] = loadV(a.coefs + (kNumCoefs + k) * W) - c0[k];
        }
        // lane of section j sees sample t - kSkew j: frac at step t = (rampOffset + t - kSkew j) / interval
        for (int i = 0; i < W; ++i)
            frac[i] = static_cast<double>(a.rampOffset - kSkew * laneSection[0][i] - 1) * invInterval;
        nextEvent = a.interval - a.rampOffset;
    }

    auto step = [&](int64_t t, auto maskedTag) __attribute__((always_inline)) {
        constexpr bool kMasked = decltype(maskedTag)::value;
        V coef[NV][kNumCoefs];
        if constexpr (kTimeRamp) {
            if (t % W == 0) fillRampTile<NV>(tiles, a, t, kSkew, intervalShift, lastInterval);
            for (int v = 0; v < NV; ++v)
                for (int k = 0; k < kNumCoefs; ++k)
                    coef[v][k] = loadRepeated<1>(&tiles.tile[v][k][t % W], std::make_index_sequence<W>{});
        } else if constexpr (RAMP) {
            frac = frac + step1;
            if (t == nextEvent) {
                const double* point = a.coefs + eventPoint * (kNumCoefs * W);
                // scalar-to-vector broadcast (a per-lane loop compiled to W masked broadcasts)
                const M entering = laneSection[0] == M{} + static_cast<long long>(eventSection);
                for (int k = 0; k < kNumCoefs; ++k) {
                    const V from = loadV(point + k * W), to = loadV(point + (kNumCoefs + k) * W);
                    c0[k] = entering ? from : c0[k];
                    dc[k] = entering ? to - from : dc[k];
                }
                frac = entering ? V{} : frac;
                nextEvent += kSkew;
                if (++eventSection == D) {
                    eventSection = 0;
                    ++eventPoint;
                    nextEvent += a.interval - kSkew * D;
                }
            }
            for (int k = 0; k < kNumCoefs; ++k) coef[0][k] = mulAdd(dc[k], frac, c0[k]);
        } else {
            for (int v = 0; v < NV; ++v)
                for (int k = 0; k < kNumCoefs; ++k) coef[v][k] = constCoefs[v][k];
        }
        M tv{};
        if constexpr (kMasked) tv = M{} + static_cast<long long>(t);
        const int64_t out = t - LAG;
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            // last vector first: each reads its predecessor's output of kSkew steps ago
#pragma GCC unroll 8
            for (int v = NV - 1; v >= 0; --v) {
                V in{};
                if (v > 0)
                    in = yOut[g][v > 0 ? v - 1 : 0][kSkew - 1];
                else if (!kMasked || t < frames)
                    in = loadRepeated<CPV>(src[g] + t * CPV, std::make_index_sequence<W>{});
                V x;
                if constexpr (kDescending)
                    x = shiftDown(yOut[g][v][kSkew - 1], in, shiftIndex);
                else
                    x = shiftIn<CPV>(yOut[g][v][kSkew - 1], in, std::make_index_sequence<W>{});
                const V* c = coef[v];
                V y;
                if constexpr (NORM)
                    y = sectionNormalized(x, x1[g][v], x2[g][v], y1[g][v], y2[g][v], c[1], c[2], c[3], c[4]);
                else
                    y = sectionPlain(x, x1[g][v], x2[g][v], y1[g][v], y2[g][v], c[0], c[1], c[2], c[3], c[4]);
                if constexpr (kMasked) {
                    const M live = (laneStart[v] <= tv) & (laneStart[v] > tv - frames);
                    x2[g][v] = live ? x1[g][v] : x2[g][v];
                    x1[g][v] = live ? x : x1[g][v];
                    y2[g][v] = live ? y1[g][v] : y2[g][v];
                    y1[g][v] = live ? y : y1[g][v];
                    shiftOutputs<kSkew>(yOut[g][v], y);
                } else {
                    advance<kSkew>(x1[g][v], x2[g][v], y1[g][v], y2[g][v], yOut[g][v], x, y);
                }
            }
            if (!kMasked || (out >= 0 && out < frames)) {
                if constexpr (kDescending)
                    storeLow<CPV>(dst[g] + out * CPV, yOut[g][0][0]);
                else
                    storeLanes<CPV>(dst[g] + out * CPV, yOut[g][NV - 1][0], outLane, std::make_index_sequence<CPV>{});
            }
        }
    };
    using Masked = std::integral_constant<bool, true>;
    using Unmasked = std::integral_constant<bool, false>;
    const int64_t steps = frames + LAG;
    int64_t t = 0;
    for (; t < LAG && t < steps; ++t) step(t, Masked{});
    // unrolled by a whole period of the register rotation (the history shifts by one and the output
    // ring by one each step), so that it costs no register moves
    constexpr int kPeriod = kSkew % 2 == 0 ? kSkew : 2 * kSkew;
    for (; t + kPeriod <= frames; t += kPeriod)
        forEachIndex([&](auto u) __attribute__((always_inline)) { step(t + decltype(u)::value, Unmasked{}); },
                     std::make_index_sequence<kPeriod>{});
    for (; t < frames; ++t) step(t, Unmasked{});
    for (; t < steps; ++t) step(t, Masked{});

    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v) {
            double* st = a.state + kStateValues * (g * NV + v) * W;
            storeV(st, x1[g][v]);
            storeV(st + W, x2[g][v]);
            storeV(st + 2 * W, y1[g][v]);
            storeV(st + 3 * W, y2[g][v]);
        }
}

// One pass shape: several vectors per chain (ByVectors, when a.vectors > 1) or 1, 2 or 4 channel groups.
template <int CPV, bool Ramp, bool Norm, bool ByVectors>
void passByShape(const PassArgs& a) {
    if constexpr (ByVectors) {
        switch (a.vectors) {
            case 2: return passImpl<CPV, 1, 2, Ramp, Norm>(a);
            case 3: return passImpl<CPV, 1, 3, Ramp, Norm>(a);
            case 4: return passImpl<CPV, 1, 4, Ramp, Norm>(a);
            case 5: return passImpl<CPV, 1, 5, Ramp, Norm>(a);
            case 6: return passImpl<CPV, 1, 6, Ramp, Norm>(a);
            default: break;
        }
    }
    switch (a.groups) {
        case 4: return passImpl<CPV, 4, 1, Ramp, Norm>(a);
        case 2: return passImpl<CPV, 2, 1, Ramp, Norm>(a);
        default: return passImpl<CPV, 1, 1, Ramp, Norm>(a);
    }
}

template <int CPV>
void passForCpv(const PassArgs& a) {
    // ramps use several vectors per chain only where they interpolate along time (channels in lanes)
    if (a.ramp) return passByShape<CPV, true, false, CPV == W && W >= kMinTimeRampWidth>(a);
    if (a.normalized) return passByShape<CPV, false, true, true>(a);
    passByShape<CPV, false, false, true>(a);
}

void pass(const PassArgs& a) {
    switch (a.cpv) {
        case 2: return passForCpv<(W >= 2 ? 2 : 1)>(a);
        case 4: return passForCpv<(W >= 4 ? 4 : 1)>(a);
        case 8: return passForCpv<(W >= 8 ? 8 : 1)>(a);
        default: return passForCpv<1>(a);
    }
}

#ifdef SEMEQ_KERNEL_AVX512
// 8x8 transpose of floats held two rows per register: p[j] = rows 2j and 2j + 1 (8 floats each) ->
// p[j] = columns 2j and 2j + 1. Eight two-source permutes; transposing float32 before widening (load)
// or after narrowing (store) moves half the bytes of a transpose of doubles, in a third of the
// shuffles (the port that shuffles also converts and multiplies, so this bounds 8-channel groups).
inline __attribute__((always_inline)) void transpose8x8(__m512* p) {
    // stage 1: rows 4h..4h+3 x columns 0-3 and 4-7, lane = column * 4 + row; stage 2: columns
    // (2j, 2j + 1) x rows 0-7, lane = (column % 2) * 8 + row
    alignas(64) static constexpr int kStage1[16] = {0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27};
    alignas(64) static constexpr int kStage2[16] = {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23};
    const __m512i lo1 = _mm512_load_si512(kStage1), hi1 = _mm512_add_epi32(lo1, _mm512_set1_epi32(4));
    const __m512i lo2 = _mm512_load_si512(kStage2), hi2 = _mm512_add_epi32(lo2, _mm512_set1_epi32(8));
    __m512 r[4];
    for (int h = 0; h < 2; ++h) {
        r[2 * h] = _mm512_permutex2var_ps(p[2 * h], lo1, p[2 * h + 1]);
        r[2 * h + 1] = _mm512_permutex2var_ps(p[2 * h], hi1, p[2 * h + 1]);
    }
    for (int h = 0; h < 2; ++h) {
        p[2 * h] = _mm512_permutex2var_ps(r[h], lo2, r[h + 2]);
        p[2 * h + 1] = _mm512_permutex2var_ps(r[h], hi2, r[h + 2]);
    }
}
#endif

template <int STRIDE>
void loadChannel(const float* in, double* dst, int64_t from, int64_t frames) {
    for (int64_t i = from; i < frames; ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, in + i, sizeof(bits));
        bits &= 0u - static_cast<std::uint32_t>((bits & 0x7f800000u) != 0x7f800000u);  // Inf/NaN -> +0
        float v;
        std::memcpy(&v, &bits, sizeof(v));
        dst[i * STRIDE] = static_cast<double>(v);
    }
}

// Output samples saturate at float32's largest finite value: a finite input never becomes ±Inf, however
// far an EQ boosts it (the state keeps its float64 value).
constexpr double kFloatMax = 3.4028234663852886e38;

template <int STRIDE>
void storeChannel(const double* src, float* out, int64_t from, int64_t frames, double gain) {
    for (int64_t i = from; i < frames; ++i) {
        const double v = src[i * STRIDE] * gain;
        out[i] = static_cast<float>(v > kFloatMax ? kFloatMax : v < -kFloatMax ? -kFloatMax : v);  // vectorises
    }
}

// `channels` float32 channels -> a group buffer [t][cpv] (lanes past `channels` are zeroed);
// non-finite samples become 0.
void loadGroup(const float* const* in, int channels, double* dst, int64_t frames, int cpv) {
    int64_t t = 0;
#ifdef SEMEQ_KERNEL_AVX512
    if (cpv == 8 && channels == 8) {
        const __m512i exponent = _mm512_set1_epi32(0x7f800000);
        for (; t + 8 <= frames; t += 8) {
            __m512 p[4];  // channels (2j, 2j + 1), then samples (t + 2j, t + 2j + 1)
            for (int j = 0; j < 4; ++j)
                p[j] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(in[2 * j] + t)),
                                          _mm256_loadu_ps(in[2 * j + 1] + t), 1);
            transpose8x8(p);
            for (int j = 0; j < 4; ++j) {
                // Inf/NaN (all exponent bits set) -> +0
                const __m512i bits = _mm512_castps_si512(p[j]);
                const __mmask16 finite = _mm512_cmpneq_epi32_mask(_mm512_and_si512(bits, exponent), exponent);
                const __m512 x = _mm512_maskz_mov_ps(finite, p[j]);
                _mm512_storeu_pd(dst + (t + 2 * j) * 8, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
                _mm512_storeu_pd(dst + (t + 2 * j + 1) * 8, _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)));
            }
        }
    }
#endif
#ifdef SEMEQ_KERNEL_AVX
    if (cpv == 4 && channels == 4) {
        // the same for 4 channels: a 4x4 transpose of floats, then widening
        const __m128i exponent = _mm_set1_epi32(0x7f800000);
        for (; t + 4 <= frames; t += 4) {
            __m128 r[4];  // channels, then samples t + j
            for (int c = 0; c < 4; ++c) r[c] = _mm_loadu_ps(in[c] + t);
            _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
            for (int j = 0; j < 4; ++j) {
                // Inf/NaN (all exponent bits set) -> +0
                const __m128i bits = _mm_castps_si128(r[j]);
                const __m128i infNan = _mm_cmpeq_epi32(_mm_and_si128(bits, exponent), exponent);
                _mm256_storeu_pd(dst + (t + j) * 4, _mm256_cvtps_pd(_mm_castsi128_ps(_mm_andnot_si128(infNan, bits))));
            }
        }
    }
#endif
    for (int c = 0; c < cpv; ++c) {
        if (c >= channels) {
            for (int64_t i = t; i < frames; ++i) dst[i * cpv + c] = 0.0;
            continue;
        }
        switch (cpv) {  // compile-time strides, so that the contiguous case vectorises
            case 1: loadChannel<1>(in[c], dst + c, t, frames); break;
            case 2: loadChannel<2>(in[c], dst + c, t, frames); break;
            case 4: loadChannel<4>(in[c], dst + c, t, frames); break;
            default: loadChannel<8>(in[c], dst + c, t, frames); break;
        }
    }
}

// A group buffer [t][cpv], times `gain` (the pooled b0 of normalized sections; 1 is exact) ->
// `channels` float32 channels.
void storeGroup(const double* src, float* const* out, int channels, int64_t frames, int cpv, double gain) {
    int64_t t = 0;
#ifdef SEMEQ_KERNEL_AVX512
    if (cpv == 8 && channels == 8) {
        const __m512d g = _mm512_set1_pd(gain), hi = _mm512_set1_pd(kFloatMax), lo = _mm512_set1_pd(-kFloatMax);
        const auto narrow = [&](const double* at) {
            return _mm512_cvtpd_ps(_mm512_min_pd(_mm512_max_pd(_mm512_mul_pd(_mm512_loadu_pd(at), g), lo), hi));
        };
        for (; t + 8 <= frames; t += 8) {
            __m512 p[4];  // samples (t + 2j, t + 2j + 1), then channels (2j, 2j + 1)
            for (int j = 0; j < 4; ++j) {
                const __m256 even = narrow(src + (t + 2 * j) * 8);
                const __m256 odd = narrow(src + (t + 2 * j + 1) * 8);
                p[j] = _mm512_insertf32x8(_mm512_castps256_ps512(even), odd, 1);
            }
            transpose8x8(p);
            for (int j = 0; j < 4; ++j) {
                _mm256_storeu_ps(out[2 * j] + t, _mm512_castps512_ps256(p[j]));
                _mm256_storeu_ps(out[2 * j + 1] + t, _mm512_extractf32x8_ps(p[j], 1));
            }
        }
    }
#endif
#ifdef SEMEQ_KERNEL_AVX
    if (cpv == 4 && channels == 4) {
        const __m256d g = _mm256_set1_pd(gain), hi = _mm256_set1_pd(kFloatMax), lo = _mm256_set1_pd(-kFloatMax);
        for (; t + 4 <= frames; t += 4) {
            __m128 r[4];  // samples t + j, then channels
            for (int j = 0; j < 4; ++j)
                r[j] = _mm256_cvtpd_ps(_mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_loadu_pd(src + (t + j) * 4), g),
                                                                    lo), hi));
            _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
            for (int c = 0; c < 4; ++c) _mm_storeu_ps(out[c] + t, r[c]);
        }
    }
#endif
#if defined(__AVX__)
    if (cpv == 2 && channels == 2) {
        // stereo, 4 frames at a time: [L R L R] twice, saturated and narrowed, then split by channel (the
        // scalar loop's clamp does not vectorise across the interleaved channels)
        const __m256d g = _mm256_set1_pd(gain), hi = _mm256_set1_pd(kFloatMax), lo = _mm256_set1_pd(-kFloatMax);
        const auto narrow = [&](const double* at) {
            return _mm256_cvtpd_ps(_mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_loadu_pd(at), g), lo), hi));
        };
        for (; t + 4 <= frames; t += 4) {
            const __m128 a = narrow(src + t * 2), b = narrow(src + t * 2 + 4);  // L0 R0 L1 R1, L2 R2 L3 R3
            _mm_storeu_ps(out[0] + t, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
            _mm_storeu_ps(out[1] + t, _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
        }
    }
#endif
    for (int c = 0; c < channels; ++c) {
        switch (cpv) {
            case 1: storeChannel<1>(src + c, out[c], t, frames, gain); break;
            case 2: storeChannel<2>(src + c, out[c], t, frames, gain); break;
            case 4: storeChannel<4>(src + c, out[c], t, frames, gain); break;
            default: storeChannel<8>(src + c, out[c], t, frames, gain); break;
        }
    }
}

// The body of a steady (normalized) pass without loads, stores or masks: its time per step is the
// dependency-chain ceiling of this layout on this machine.
template <int CPV, int G, int NV>
double chainRunImpl(int64_t steps) {
    constexpr int kSkew = skewFor(G * NV, true);
    V x1[G][NV], x2[G][NV], y1[G][NV], y2[G][NV], yOut[G][NV][kSkew];
    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v) {
            x1[g][v] = x2[g][v] = y1[g][v] = y2[g][v] = V{};
            for (int k = 0; k < kSkew; ++k) yOut[g][v][k] = V{};
        }
    const V c1 = broadcast(0.019), c2 = broadcast(-0.0192), a1 = broadcast(-1.9), a2 = broadcast(0.92);
    // a different input per group: with equal ones the compiler computes one group for all of them
    V input[G];
    for (int g = 0; g < G; ++g) input[g] = broadcast(1e-3 * (g + 1));
    for (int64_t t = 0; t < steps; ++t) {
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
#pragma GCC unroll 8
            for (int v = NV - 1; v >= 0; --v) {
                const V x = shiftIn<CPV>(yOut[g][v][kSkew - 1], v > 0 ? yOut[g][v > 0 ? v - 1 : 0][kSkew - 1] : input[g],
                                         std::make_index_sequence<W>{});
                const V y = sectionNormalized(x, x1[g][v], x2[g][v], y1[g][v], y2[g][v], c1, c2, a1, a2);
                advance<kSkew>(x1[g][v], x2[g][v], y1[g][v], y2[g][v], yOut[g][v], x, y);
            }
        }
    }
    double sink = 0.0;
    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v)
            for (int i = 0; i < W; ++i) sink += y1[g][v][i];
    return sink;
}

template <int CPV>
double chainForCpv(int64_t steps, int groups, int vectors) {
    switch (vectors) {
        case 2: return chainRunImpl<CPV, 1, 2>(steps);
        case 3: return chainRunImpl<CPV, 1, 3>(steps);
        case 4: return chainRunImpl<CPV, 1, 4>(steps);
        case 5: return chainRunImpl<CPV, 1, 5>(steps);
        case 6: return chainRunImpl<CPV, 1, 6>(steps);
        default: break;
    }
    switch (groups) {
        case 4: return chainRunImpl<CPV, 4, 1>(steps);
        case 2: return chainRunImpl<CPV, 2, 1>(steps);
        default: return chainRunImpl<CPV, 1, 1>(steps);
    }
}

double chainRun(int64_t steps, int cpv, int groups, int vectors) {
    switch (cpv) {
        case 2: return chainForCpv<(W >= 2 ? 2 : 1)>(steps, groups, vectors);
        case 4: return chainForCpv<(W >= 4 ? 4 : 1)>(steps, groups, vectors);
        case 8: return chainForCpv<(W >= 8 ? 8 : 1)>(steps, groups, vectors);
        default: return chainForCpv<1>(steps, groups, vectors);
    }
}

}  // namespace
}  // namespace semeq::detail::SEMEQ_KERNEL_NS

namespace semeq::detail {
const KernelTable& SEMEQ_KERNEL_ENTRY() {
    static const KernelTable table{SEMEQ_KERNEL_NAME,        SEMEQ_KERNEL_WIDTH,      SEMEQ_KERNEL_FMA != 0,
                                   SEMEQ_KERNEL_NS::kDescendingLanes,
                                   &SEMEQ_KERNEL_NS::pass,   &SEMEQ_KERNEL_NS::loadGroup,
                                   &SEMEQ_KERNEL_NS::storeGroup, &SEMEQ_KERNEL_NS::chainRun};
    return table;
}
}  // namespace semeq::detail
