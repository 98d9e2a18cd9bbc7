// The wavefront kernel for avx2 (4 double lane(s) per vector); compile flags in cpp/CMakeLists.txt.
#define SEMEQ_KERNEL_NS avx2
#define SEMEQ_KERNEL_NAME "avx2"
#define SEMEQ_KERNEL_WIDTH 4
#define SEMEQ_KERNEL_ENTRY kernelAvx2
#include "kernel_impl.h"
