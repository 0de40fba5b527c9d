/**
 * safetensors files on disk (Node.js): the format itself is src/formats/safetensors.ts.
 *
 *   saveSafetensors("model.safetensors", model.stateDict(), { format: "pt" });
 *   model.loadStateDict(loadSafetensors("model.safetensors").tensors);
 *
 * Loading reads the 8-byte length and the header first and checks them against the file's size (and,
 * with `checkHeader`, against what the caller expects) before the data is read: a file that lies, a
 * device or a file over `maxBytes` costs at most the header's bytes.
 */
import {
  type SafetensorsContents, type SafetensorsHeader, parseSafetensorsHeader, readSafetensorsData, safetensorsHeaderLength,
  serializeSafetensors,
} from "../formats/safetensors.js";
import type { Tensor } from "../tensor/tensor.js";
import { DEFAULT_MAX_READ, readExactly, withRegularFile, writeFileAtomic } from "./atomic-write.js";

export interface LoadSafetensorsOptions {
  /** The largest file read. Default 1 GiB. */
  maxBytes?: number;
  /** Called with the checked header before the data is read; throws (a RangeError) to refuse the file. */
  checkHeader?: (header: SafetensorsHeader) => void;
}

/** Writes tensors (as F32) and optional string metadata to `path`, replacing it atomically. */
export function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

/** Reads and validates `path`; errors are one-line RangeErrors that start with the path. */
export function loadSafetensors(path: string, options: LoadSafetensorsOptions = {}): SafetensorsContents {
  return withRegularFile(path, "safetensors file", options.maxBytes ?? DEFAULT_MAX_READ, (fd, size) => {
    const N = safetensorsHeaderLength(readExactly(fd, 0, Math.min(8, size), path), size, path);
    const header = parseSafetensorsHeader(readExactly(fd, 0, 8 + N, path), size, path);
    options.checkHeader?.(header);
    const data = readExactly(fd, header.dataStart, size - header.dataStart, path);
    return { tensors: readSafetensorsData(header, data, path), metadata: header.metadata };
  });
}
