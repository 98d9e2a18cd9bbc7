// The wavefront kernel for sse2 (2 double lane(s) per vector); compile flags in cpp/CMakeLists.txt.
#define SEMEQ_KERNEL_NS sse2
#define SEMEQ_KERNEL_NAME "sse2"
#define SEMEQ_KERNEL_WIDTH 2
#define SEMEQ_KERNEL_ENTRY kernelSse2
#include "kernel_impl.h"
