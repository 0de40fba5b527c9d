/**
 * The recurrent layers on the native backend: PyTorch parity, agreement with the reference, finite
 * differences of its forward against its backward, run-to-run bit-identity (the shared suite,
 * test/kernels/recurrent-suite.ts). The addon's presence is asserted by native.test.ts.
 */
import { nativeKernels } from "../kernels/conformance.js";
import { recurrentSuite } from "../kernels/recurrent-suite.js";

if (nativeKernels !== null) recurrentSuite(nativeKernels);
