/**
 * bptt for Node.js: everything in the isomorphic core, plus file I/O.
 *
 *   import { loadSafetensors, saveSafetensors } from "bptt/node";
 */
export * from "./index.js";
export { writeFileAtomic, readFileChecked } from "./io/atomic-write.js";
export { saveSafetensors, loadSafetensors } from "./io/safetensors-file.js";
