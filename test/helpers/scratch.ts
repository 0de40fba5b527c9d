/** A temporary directory removed after the test file, and a writer of files in it. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

export function scratch(prefix: string): { dir: string; file: (name: string, content: string | Uint8Array) => string } {
  const dir = mkdtempSync(join(tmpdir(), `bptt-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}
