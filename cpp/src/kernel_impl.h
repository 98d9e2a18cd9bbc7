// The wavefront biquad kernel, written once with GCC/Clang vector extensions and compiled once per
// instruction set (kernel_<isa>.cpp defines SEMEQ_KERNEL_NS, SEMEQ_KERNEL_WIDTH, SEMEQ_KERNEL_ENTRY).
//
// Layout: a vector of W doubles holds W/cpv sections x cpv channels; lane i runs section i/cpv of
// channel i%cpv. At step t, section j of a chunk works on sample t-j and takes as input what section j-1
// produced at step t-1 (a lane shift by cpv). Buffers between passes are compact, [t][cpv]: a step
// loads its cpv inputs with one broadcast load and stores the top cpv lanes of its output with one
// (masked, where the ISA has it) store, so the data of a pass stays in L1.
//
// Section arithmetic: TDF-II with y substituted into the state update,
//   y = b0 x + s1,   s1' = (c1 x + s2) - a1 s1,   s2' = c2 x - a2 s1,   c1 = b1 - a1 b0, c2 = b2 - a2 b0,
// which takes y off the state recursion (8 instead of 12 cycles of latency a step). The first and last W/cpv-1 steps of a pass are masked so
// that, between calls, every section's state is at the same sample (canonical state: no added latency,
// any block size). Every lane does exactly the scalar TDF-II arithmetic in the same order, and the
// library is compiled with -ffp-contract=off, so all instruction sets give bit-identical output.
//
// Everything here lives in an ISA-specific anonymous namespace and uses no inline library templates
// with code, so nothing compiled for a wide ISA can be merged into baseline code by the linker.
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernel_api.h"

#if defined(__AVX512F__) && SEMEQ_KERNEL_WIDTH == 8
#include <immintrin.h>
#define SEMEQ_KERNEL_AVX512 1
#elif defined(__AVX__) && SEMEQ_KERNEL_WIDTH == 4
#include <immintrin.h>
#define SEMEQ_KERNEL_AVX 1
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
    } else if constexpr (CPV == 1) {
        return broadcast(*p);
#ifdef SEMEQ_KERNEL_AVX512
    } else if constexpr (CPV == 2) {
        return (V)_mm512_broadcast_f64x2(_mm_loadu_pd(p));
    } else if constexpr (CPV == 4) {
        return (V)_mm512_broadcast_f64x4(_mm256_loadu_pd(p));
#endif
#ifdef SEMEQ_KERNEL_AVX
    } else if constexpr (CPV == 2) {
        return (V)_mm256_broadcast_pd(reinterpret_cast<const __m128d*>(p));
#endif
    } else {
        typedef double Part __attribute__((vector_size(CPV * sizeof(double))));
        Part part;
        std::memcpy(&part, p, sizeof(Part));
        return __builtin_shufflevector(part, part, (int(I) % CPV)...);
    }
}

// The top cpv lanes of v -> p[0 .. cpv).
template <int CPV, std::size_t... J>
inline __attribute__((always_inline)) void storeTop(double* p, V v, std::index_sequence<J...>) {
    if constexpr (CPV == W) {
        storeV(p, v);
    } else {
#ifdef SEMEQ_KERNEL_AVX512
        _mm512_mask_storeu_pd(p - (W - CPV), static_cast<__mmask8>(0xFFu << (W - CPV)), (__m512d)v);
#else
        typedef double Part __attribute__((vector_size(CPV * sizeof(double))));
        const Part top = __builtin_shufflevector(v, v, (W - CPV + int(J))...);
        std::memcpy(p, &top, sizeof(Part));
#endif
    }
}

// Lanes [0, cpv) take the new input samples (the top cpv lanes of `in`); lane i >= cpv takes lane i-cpv
// of y (the previous section of the same channel, one step ago).
template <int CPV, std::size_t... I>
inline __attribute__((always_inline)) V shiftIn(V y, V in, std::index_sequence<I...>) {
    return __builtin_shufflevector(y, in, (int(I) < CPV ? 2 * W - CPV + int(I) : int(I) - CPV)...);
}

// NV vectors form one chain (sections [v*D, (v+1)*D) in vector v; vector v takes its input from
// vector v-1's previous step, a register move), G channel groups run side by side: NV * G independent
// dependency chains per step. Ramps run with NV = 1.
template <int CPV, int G, int NV, bool RAMP>
void passImpl(const PassArgs& a) {
    static_assert(!RAMP || NV == 1, "ramps run one vector per chain");
    constexpr int D = W / CPV;     // sections per vector
    constexpr int DEPTH = NV * D;  // wavefront depth
    const int64_t frames = a.frames;
    M laneSection[NV];
    for (int v = 0; v < NV; ++v)
        for (int i = 0; i < W; ++i) laneSection[v][i] = v * D + i / CPV;

    V s1[G][NV], s2[G][NV], y[G][NV];
    const double* src[G];
    double* dst[G];
    for (int g = 0; g < G; ++g) {
        for (int v = 0; v < NV; ++v) {
            s1[g][v] = loadV(a.state + (2 * (g * NV + v)) * W);
            s2[g][v] = loadV(a.state + (2 * (g * NV + v) + 1) * W);
            y[g][v] = V{};
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
    // next control point (one lane group per step, in order of j) they load the next segment.
    V c0[kNumCoefs], dc[kNumCoefs], frac{};
    const double invInterval = 1.0 / static_cast<double>(a.interval);
    const V step1 = broadcast(invInterval);
    int64_t nextEvent = 0, eventSegment = 1;
    int eventSection = 0;
    if constexpr (RAMP) {
        for (int k = 0; k < kNumCoefs; ++k) {
            c0[k] = loadV(a.coefs + k * W);
            dc[k] = loadV(a.coefs + (kNumCoefs + k) * W);
        }
        // lane of section j sees sample t - j: frac at step t = (rampOffset + t - j) / interval
        for (int i = 0; i < W; ++i) frac[i] = static_cast<double>(a.rampOffset - i / CPV - 1) * invInterval;
        nextEvent = a.interval - a.rampOffset;
    }

    auto step = [&](int64_t t, auto maskedTag) __attribute__((always_inline)) {
        constexpr bool kMasked = decltype(maskedTag)::value;
        V coef[NV][kNumCoefs];
        if constexpr (RAMP) {
            frac = frac + step1;
            if (t == nextEvent) {
                const double* seg = a.coefs + eventSegment * (2 * kNumCoefs * W);
                M tv;
                for (int i = 0; i < W; ++i) tv[i] = eventSection;
                const M entering = laneSection[0] == tv;
                for (int k = 0; k < kNumCoefs; ++k) {
                    c0[k] = entering ? loadV(seg + k * W) : c0[k];
                    dc[k] = entering ? loadV(seg + (kNumCoefs + k) * W) : dc[k];
                }
                frac = entering ? V{} : frac;
                ++nextEvent;
                if (++eventSection == D) {
                    eventSection = 0;
                    ++eventSegment;
                    nextEvent += a.interval - D;
                }
            }
            for (int k = 0; k < kNumCoefs; ++k) coef[0][k] = c0[k] + dc[k] * frac;
        } else {
            for (int v = 0; v < NV; ++v)
                for (int k = 0; k < kNumCoefs; ++k) coef[v][k] = constCoefs[v][k];
        }
        M tv{};
        if constexpr (kMasked)
            for (int i = 0; i < W; ++i) tv[i] = t;
        const int64_t out = t - (DEPTH - 1);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            // last vector first: each reads its predecessor's output of the previous step
#pragma GCC unroll 8
            for (int v = NV - 1; v >= 0; --v) {
                V in{};
                if (v > 0)
                    in = y[g][v > 0 ? v - 1 : 0];
                else if (!kMasked || t < frames)
                    in = loadRepeated<CPV>(src[g] + t * CPV, std::make_index_sequence<W>{});
                const V x = shiftIn<CPV>(y[g][v], in, std::make_index_sequence<W>{});
                const V b0 = coef[v][0], c1 = coef[v][1], c2 = coef[v][2], a1 = coef[v][3], a2 = coef[v][4];
                // explicit order of operations (no contraction): identical in every lane layout
                const V yn = b0 * x + s1[g][v];
                const V s1n = (c1 * x + s2[g][v]) - a1 * s1[g][v];
                const V s2n = c2 * x - a2 * s1[g][v];
                if constexpr (kMasked) {
                    const M live = (laneSection[v] <= tv) & (laneSection[v] > tv - frames);
                    s1[g][v] = live ? s1n : s1[g][v];
                    s2[g][v] = live ? s2n : s2[g][v];
                } else {
                    s1[g][v] = s1n;
                    s2[g][v] = s2n;
                }
                y[g][v] = yn;
            }
            if (!kMasked || (out >= 0 && out < frames))
                storeTop<CPV>(dst[g] + out * CPV, y[g][NV - 1], std::make_index_sequence<CPV>{});
        }
    };
    using Masked = std::integral_constant<bool, true>;
    using Unmasked = std::integral_constant<bool, false>;
    const int64_t steps = frames + DEPTH - 1;
    int64_t t = 0;
    for (; t < DEPTH - 1 && t < steps; ++t) step(t, Masked{});
    for (; t < frames; ++t) step(t, Unmasked{});
    for (; t < steps; ++t) step(t, Masked{});

    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v) {
            storeV(a.state + (2 * (g * NV + v)) * W, s1[g][v]);
            storeV(a.state + (2 * (g * NV + v) + 1) * W, s2[g][v]);
        }
}

template <int CPV>
void passForCpv(const PassArgs& a) {
    if (a.ramp) {
        switch (a.groups) {
            case 4: return passImpl<CPV, 4, 1, true>(a);
            case 2: return passImpl<CPV, 2, 1, true>(a);
            default: return passImpl<CPV, 1, 1, true>(a);
        }
    }
    switch (a.vectors) {
        case 2: return passImpl<CPV, 1, 2, false>(a);
        case 3: return passImpl<CPV, 1, 3, false>(a);
        case 4: return passImpl<CPV, 1, 4, false>(a);
        case 5: return passImpl<CPV, 1, 5, false>(a);
        case 6: return passImpl<CPV, 1, 6, false>(a);
        default: break;
    }
    switch (a.groups) {
        case 4: return passImpl<CPV, 4, 1, false>(a);
        case 2: return passImpl<CPV, 2, 1, false>(a);
        default: return passImpl<CPV, 1, 1, false>(a);
    }
}

void pass(const PassArgs& a) {
    switch (a.cpv) {
        case 2: return passForCpv<(W >= 2 ? 2 : 1)>(a);
        case 4: return passForCpv<(W >= 4 ? 4 : 1)>(a);
        case 8: return passForCpv<(W >= 8 ? 8 : 1)>(a);
        default: return passForCpv<1>(a);
    }
}

typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
typedef float F8 __attribute__((vector_size(8 * sizeof(float))));
typedef std::uint32_t U8 __attribute__((vector_size(8 * sizeof(std::uint32_t))));

// In-place 8x8 transpose of doubles (3 shuffle stages): converts 8 channels at once in the 8-lane
// kernel (the narrower kernels never call it).
inline __attribute__((always_inline)) void transpose8(V8* r) {
    V8 t[8], u[8];
    for (int p = 0; p < 4; ++p) {
        t[2 * p] = __builtin_shufflevector(r[2 * p], r[2 * p + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[2 * p + 1] = __builtin_shufflevector(r[2 * p], r[2 * p + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int q = 0; q < 2; ++q)
        for (int h = 0; h < 2; ++h) {
            const V8 a = t[4 * q + h], b = t[4 * q + h + 2];
            u[4 * q + 2 * h] = __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13);
            u[4 * q + 2 * h + 1] = __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15);
        }
    // u[0]: samples 0/4 of channels 0-3, u[1]: 2/6, u[2]: 1/5, u[3]: 3/7; u[4..7] the same for 4-7
    const int order[4] = {0, 2, 1, 3};
    for (int k = 0; k < 4; ++k) {
        r[order[k]] = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[order[k] + 4] = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

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

template <int STRIDE>
void storeChannel(const double* src, float* out, int64_t from, int64_t frames) {
    for (int64_t i = from; i < frames; ++i) out[i] = static_cast<float>(src[i * STRIDE]);
}

// `channels` float32 channels -> a group buffer [t][cpv] (lanes past `channels` are zeroed);
// non-finite samples become 0.
void loadGroup(const float* const* in, int channels, double* dst, int64_t frames, int cpv) {
    int64_t t = 0;
    if constexpr (W == 8) {
        if (cpv == 8 && channels == 8) {
            for (; t + 8 <= frames; t += 8) {
                V8 r[8];
                for (int c = 0; c < 8; ++c) {
                    U8 bits;
                    std::memcpy(&bits, in[c] + t, sizeof(bits));
                    bits &= (U8)((bits & 0x7f800000u) != 0x7f800000u);  // all-ones where finite; Inf/NaN -> +0
                    F8 f;
                    std::memcpy(&f, &bits, sizeof(f));
                    r[c] = __builtin_convertvector(f, V8);
                }
                transpose8(r);
                std::memcpy(dst + t * 8, r, sizeof(r));
            }
        }
    }
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

// A group buffer [t][cpv] -> `channels` float32 channels.
void storeGroup(const double* src, float* const* out, int channels, int64_t frames, int cpv) {
    int64_t t = 0;
    if constexpr (W == 8) {
        if (cpv == 8 && channels == 8) {
            for (; t + 8 <= frames; t += 8) {
                V8 r[8];
                std::memcpy(r, src + t * 8, sizeof(r));
                transpose8(r);
                for (int c = 0; c < 8; ++c) {
                    const F8 f = __builtin_convertvector(r[c], F8);
                    std::memcpy(out[c] + t, &f, sizeof(f));
                }
            }
        }
    }
    for (int c = 0; c < channels; ++c) {
        switch (cpv) {
            case 1: storeChannel<1>(src + c, out[c], t, frames); break;
            case 2: storeChannel<2>(src + c, out[c], t, frames); break;
            case 4: storeChannel<4>(src + c, out[c], t, frames); break;
            default: storeChannel<8>(src + c, out[c], t, frames); break;
        }
    }
}

// The body of a pass without loads, stores or masks: its time per step is the dependency-chain
// ceiling of this layout on this machine.
template <int CPV, int G, int NV>
double chainRunImpl(int64_t steps) {
    V s1[G][NV], s2[G][NV], y[G][NV];
    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v) s1[g][v] = s2[g][v] = y[g][v] = V{};
    const V b0 = broadcast(1.01), c1 = broadcast(0.019), c2 = broadcast(-0.0192), a1 = broadcast(-1.9),
            a2 = broadcast(0.92), input = broadcast(1e-3);
    for (int64_t t = 0; t < steps; ++t) {
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
#pragma GCC unroll 8
            for (int v = NV - 1; v >= 0; --v) {
                const V x = shiftIn<CPV>(y[g][v], v > 0 ? y[g][v > 0 ? v - 1 : 0] : input,
                                         std::make_index_sequence<W>{});
                const V yn = b0 * x + s1[g][v];
                const V s1n = (c1 * x + s2[g][v]) - a1 * s1[g][v];
                s2[g][v] = c2 * x - a2 * s1[g][v];
                s1[g][v] = s1n;
                y[g][v] = yn;
            }
        }
    }
    double sink = 0.0;
    for (int g = 0; g < G; ++g)
        for (int v = 0; v < NV; ++v)
            for (int i = 0; i < W; ++i) sink += y[g][v][i];
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
    static const KernelTable table{SEMEQ_KERNEL_NAME,        SEMEQ_KERNEL_WIDTH,
                                   &SEMEQ_KERNEL_NS::pass,   &SEMEQ_KERNEL_NS::loadGroup,
                                   &SEMEQ_KERNEL_NS::storeGroup, &SEMEQ_KERNEL_NS::chainRun};
    return table;
}
}  // namespace semeq::detail
