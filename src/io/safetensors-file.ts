/**
 * safetensors files on disk (Node.js): the format itself is src/formats/safetensors.ts.
 *
 *   saveSafetensors("model.safetensors", model.stateDict(), { format: "pt" });
 *   model.loadStateDict(loadSafetensors("model.safetensors").tensors);
 */
import { type SafetensorsContents, parseSafetensors, serializeSafetensors } from "../formats/safetensors.js";
import type { Tensor } from "../tensor/tensor.js";
import { readFileChecked, writeFileAtomic } from "./atomic-write.js";

/** Writes tensors (as F32) and optional string metadata to `path`, replacing it atomically. */
export function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** Reads and validates `path`; errors are one-line RangeErrors that start with the path. */
export function loadSafetensors(path: string): SafetensorsContents {
  return parseSafetensors(readFileChecked(path, "safetensors file"), path);
}
