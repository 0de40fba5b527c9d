/* Every kernel (kernels_impl.h) for any CPU: the compiler splits 16 lanes over what the baseline has. */
#define STEP(name) step_##name##_generic
#define KERNEL_SET kernels_generic
#include "kernels_impl.h"
