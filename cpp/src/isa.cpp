#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "semeq/isa.h"

namespace semeq {
namespace detail {
namespace {

std::vector<const KernelTable*> supportedKernels() {
    std::vector<const KernelTable*> kernels{&kernelScalar()};
#if defined(__x86_64__) || defined(_M_X64)
    __builtin_cpu_init();
    kernels.push_back(&kernelSse2());  // part of baseline x86-64
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernels.push_back(&kernelAvx2());
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        kernels.push_back(&kernelAvx512());
#endif
    return kernels;
}

const std::vector<const KernelTable*>& kernels() {
    static const std::vector<const KernelTable*> list = supportedKernels();
    return list;
}

const KernelTable* findKernel(const std::string& name) {
    for (const KernelTable* k : kernels())
        if (name == k->name) return k;
    return nullptr;
}

const KernelTable* defaultKernel() {
    if (const char* env = std::getenv("SEMEQ_ISA"))
        if (const KernelTable* k = findKernel(env)) return k;
    return kernels().back();
}

std::atomic<const KernelTable*> g_active{nullptr};

}  // namespace

const KernelTable& activeKernel() noexcept {
    const KernelTable* k = g_active.load(std::memory_order_acquire);
    if (k == nullptr) {
        // first use; racing first uses agree on the same default
        k = defaultKernel();
        g_active.store(k, std::memory_order_release);
    }
    return *k;
}

}  // namespace detail

std::vector<std::string> availableIsas() {
    std::vector<std::string> names;
    for (const detail::KernelTable* k : detail::kernels()) names.emplace_back(k->name);
    return names;
}

std::string currentIsa() { return detail::activeKernel().name; }

namespace {

const detail::KernelTable& availableKernel(const std::string& name) {
    const detail::KernelTable* k = detail::findKernel(name);
    if (k == nullptr) {
        std::string accepted;
        for (const std::string& n : availableIsas()) accepted += (accepted.empty() ? "" : ", ") + n;
        throw std::invalid_argument("instruction set '" + name + "' is not available here; available: " +
                                    accepted);
    }
    return *k;
}

}  // namespace

void setIsa(const std::string& name) { detail::g_active.store(&availableKernel(name), std::memory_order_release); }

bool isaFusesMultiplyAdd(const std::string& name) { return availableKernel(name).fusedMultiplyAdd; }

}  // namespace semeq
