// Run-time choice of the kernel (see semeq/isa.h).
#pragma once

#include "kernel_api.h"

namespace semeq::detail {
const KernelTable& activeKernel() noexcept;
}
