// Interface between the filter bank and its per-instruction-set kernels (kernel_impl.h, compiled once
// per ISA). Plain data only: nothing here may be an inline function, so no code compiled with wider
// instruction sets can be shared with (and picked by the linker for) baseline code.
#pragma once

#include <cstdint>

namespace semeq::detail {

// Channel groups side by side in one pass: 1, 2 or 4. Four only in the 1- and 2-lane kernels, where
// they are faster per group (scalar: 6.7 ns a step for four groups against 5.6 for two, steady; 9.2
// against 6.0 ramping); in the wider kernels a pass of four took longer than two passes of two
// (AVX-512 steady 6.7 against 2 x 2.9 ns, AVX2 ramping 8.7 against 2 x 3.3).
constexpr int kMaxGroupsPerPass = 4;
constexpr int kMaxWidthForFourGroups = 2;
constexpr int kMaxVectorsPerChain = 6;
// Ramps with channels in lanes (cpv == width) interpolate along time, any number of vectors per chain,
// only in kernels at least this wide: narrower ones refill their tables every 1, 2 or 4 samples, and
// their ramps took 1.2-1.8x as long that way (scalar, SSE2, AVX2; stereo and 16 channels); they
// interpolate lane by lane instead.
constexpr int kMinTimeRampWidth = 8;
constexpr int kNumCoefs = 5;    // b0, b1, b2, a1, a2 (normalized passes: b0 unused, b1/b0, b2/b0)
constexpr int kStateValues = 4;  // per lane: x1, x2, y1, y2 (direct form I)

// One wavefront pass: `groups` channel groups (each `cpv` channels wide) through one chunk of
// vectors * width/cpv sections, over `frames` samples. Buffers are interleaved per group: [t][cpv].
// Either groups or vectors is 1; ramps run with vectors = 1 unless cpv == width >= kMinTimeRampWidth.
struct PassArgs {
    int cpv;
    int groups;             // 1, 2 or 4
    int vectors;            // 1..kMaxVectorsPerChain
    int sectionsUsed;       // sections of the chain that run a band (the rest pass x through), >= 1
    bool ramp;              // coefficients from the per-step table instead of constant
    bool normalized;        // steady only: b0 divided out (the caller applies the pooled gain)
    int64_t frames;
    const double* src[kMaxGroupsPerPass];
    double* dst[kMaxGroupsPerPass];
    double* state;          // [groups][vectors][4][width]: x1, x2, y1, y2 per lane, in and out
    // per lane (b0, b1, b2, a1, a2); normalized: (unused, b1/b0, b2/b0, a1, a2).
    // constant: [vectors][5][width]. ramp: per control point p (sample first + p * interval, where
    // first = the control point at or before sample 0 of this pass): [p][vectors][5][width], and
    // between points p and p + 1 a lane uses c(p) + (c(p + 1) - c(p)) * (sample - point p) / interval.
    const double* coefs;
    int64_t rampOffset;     // sample 0 of the pass minus `first`, in [0, interval)
    int64_t interval;       // samples between control points (a power of two)
};

struct KernelTable {
    const char* name;
    int width;  // doubles per vector
    bool fusedMultiplyAdd;  // kernels with the same value give bit-identical output (kernel_impl.h)
    // Passes with one vector per chain and several sections per vector place section j of the
    // chunk's `sectionsUsed` in lane group sectionsUsed-1-j (groups past them idle), instead of j.
    bool descendingLanes;
    void (*pass)(const PassArgs&);
    // `channels` (<= cpv) float32 channels <-> one group buffer [t][cpv]; non-finite input samples
    // become 0, lanes past `channels` are zeroed
    void (*loadGroup)(const float* const* in, int channels, double* dst, int64_t frames, int cpv);
    // (times `gain`: the pooled b0 of normalized passes)
    void (*storeGroup)(const double* src, float* const* out, int channels, int64_t frames, int cpv, double gain);
    // `steps` wavefront steps of the dependency chain alone (no memory traffic); returns a checksum.
    // Timed by the benchmark as the machine's ceiling for a layout.
    double (*chainRun)(int64_t steps, int cpv, int groups, int vectors);
};

const KernelTable& kernelScalar();
#if defined(__x86_64__) || defined(_M_X64)
const KernelTable& kernelSse2();
const KernelTable& kernelAvx2();
const KernelTable& kernelAvx512();
#endif

}  // namespace semeq::detail
