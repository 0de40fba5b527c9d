/**
 * The recurrent layers on the wasm-simd backend: PyTorch parity, agreement with the reference, finite
 * differences and run-to-run bit-identity (the suite is recurrent-suite.ts, shared with the native backend).
 */
import { wasmKernels } from "./conformance.js";
import { recurrentSuite } from "./recurrent-suite.js";

recurrentSuite(wasmKernels);
