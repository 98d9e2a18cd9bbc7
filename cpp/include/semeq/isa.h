// Which SIMD kernel the filter bank runs. Chosen at run time (the library is built for baseline x86-64
// and carries one kernel per instruction set), so one binary runs on any x86-64 CPU and uses AVX-512
// where present. Kernels with fused multiply-add (avx2, avx512) give bit-identical output to each
// other, and so do those without (scalar, sse2); between the two families the output differs only by
// float64 rounding (see docs/dsp.md). Forcing a kernel is for tests and benchmarks.
#pragma once

#include <string>
#include <vector>

namespace semeq {

// Kernels compiled into this build and supported by this CPU, narrowest first ("scalar", "sse2",
// "avx2", "avx512" on x86-64; "scalar" elsewhere).
std::vector<std::string> availableIsas();

// The kernel in use. Default: the widest available, unless the environment variable SEMEQ_ISA names
// another available one.
std::string currentIsa();

// Forces a kernel for all banks (takes effect at each bank's next process call).
// Throws std::invalid_argument naming the available ones if `name` is not available.
void setIsa(const std::string& name);

// Whether the available kernel `name` uses fused multiply-add. Throws like setIsa for other names.
bool isaFusesMultiplyAdd(const std::string& name);

}  // namespace semeq
