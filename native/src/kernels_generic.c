/* Every kernel (kernels_impl.h) for any CPU: vectors of 4 lanes, the width of SSE and NEON registers. */
#define STEP(name) step_##name##_generic
#define KERNEL_SET kernels_generic
#define VEC_LANES 4
#include "kernels_impl.h"
