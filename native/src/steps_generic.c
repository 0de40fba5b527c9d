/* The step kernels (steps_impl.h) for any CPU: the compiler splits 16 lanes over what the baseline has. */
#define STEP(name) step_##name##_generic
#include "steps_impl.h"
#include "fused_impl.h"
