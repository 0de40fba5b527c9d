/*
 * Every kernel for one instruction set: the including file (kernels_generic.c, kernels_avx2.c,
 * kernels_avx512.c) selects its target and defines STEP(name), the name of a kernel in this set, and
 * KERNEL_SET, the name of the set. Each kernel is declared here from the table's prototype, so a
 * definition that differs from it does not compile, then defined in the headers below, then listed in
 * the set that cpu.c dispatches to.
 */
#include "bptt_native.h"

#define BPTT_DECLARE(result, name, parameters) result STEP(name) parameters;
BPTT_KERNELS(BPTT_DECLARE)
BPTT_KERNEL_EXTRAS(BPTT_DECLARE)
#undef BPTT_DECLARE

#include "elementwise_impl.h"
#include "steps_impl.h"
#include "fused_impl.h"

#define BPTT_ENTRY(result, name, parameters) .name = STEP(name),
const kernel_set KERNEL_SET = {BPTT_KERNELS(BPTT_ENTRY) BPTT_KERNEL_EXTRAS(BPTT_ENTRY)};
#undef BPTT_ENTRY
