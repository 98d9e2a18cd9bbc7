// The wavefront kernel for avx512 (8 double lane(s) per vector); compile flags in cpp/CMakeLists.txt.
#define SEMEQ_KERNEL_NS avx512
#define SEMEQ_KERNEL_NAME "avx512"
#define SEMEQ_KERNEL_WIDTH 8
#define SEMEQ_KERNEL_ENTRY kernelAvx512
#include "kernel_impl.h"
