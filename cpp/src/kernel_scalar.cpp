// The wavefront kernel for scalar (1 double lane(s) per vector); compile flags in cpp/CMakeLists.txt.
#define SEMEQ_KERNEL_NS scalar
#define SEMEQ_KERNEL_NAME "scalar"
#define SEMEQ_KERNEL_WIDTH 1
#define SEMEQ_KERNEL_ENTRY kernelScalar
#include "kernel_impl.h"
