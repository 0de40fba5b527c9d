/**
 * Atomic file replacement and checked reads (src/io/atomic-write.ts), and safetensors files on disk
 * (src/io/safetensors-file.ts), in a scratch directory under the system's temporary directory.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileError, readFileChecked, writeFileAtomic } from "../../src/io/atomic-write.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors-file.js";
import { Tensor } from "../../src/tensor/tensor.js";

let root = "";
before(() => {
  root = mkdtempSync(join(tmpdir(), "bptt-io-"));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh empty directory inside the scratch root. */
function scratch(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

/** Asserts a RangeError whose one-line message matches `pattern`. */
function throwsRange(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${String(e)}`);
    assert.ok(!/[\n\r]/.test(e.message), `one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe("writeFileAtomic", () => {
  it("writes a new file and replaces an existing one, leaving no temporary files", () => {
    const dir = scratch("replace");
    const path = join(dir, "model.bin");
    writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    assert.deepEqual(new Uint8Array(readFileSync(path)), Uint8Array.from([1, 2, 3]));
    writeFileAtomic(path, "héllo\n");
    assert.equal(readFileSync(path, "utf8"), "héllo\n");
    writeFileAtomic(path, new Uint8Array(0));
    assert.equal(readFileSync(path).length, 0);
    assert.deepEqual(readdirSync(dir), ["model.bin"]);
  });

  it("writes a view's bytes only, not its whole buffer", () => {
    const dir = scratch("view");
    const host = Uint8Array.from([9, 9, 1, 2, 9]);
    writeFileAtomic(join(dir, "v"), host.subarray(2, 4));
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, "v"))), Uint8Array.from([1, 2]));
  });

  it("keeps the permissions of the file it replaces", () => {
    const dir = scratch("mode");
    const path = join(dir, "config.json");
    writeFileSync(path, "{}");
    chmodSync(path, 0o640);
    writeFileAtomic(path, '{"a":1}');
    assert.equal(statSync(path).mode & 0o777, 0o640);
  });

  it("a missing directory: throws, names the path, creates nothing", () => {
    const dir = scratch("missing");
    const path = join(dir, "no-such-dir", "model.safetensors");
    throwsRange(() => writeFileAtomic(path, "x"), /model\.safetensors: cannot write: the directory .*no-such-dir does not exist/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("a parent that is a file: throws and leaves that file intact", () => {
    const dir = scratch("parent-file");
    const parent = join(dir, "not-a-dir");
    writeFileSync(parent, "keep me");
    throwsRange(() => writeFileAtomic(join(parent, "model.safetensors"), "x"), /cannot write: a parent of this path is not a directory/);
    assert.equal(readFileSync(parent, "utf8"), "keep me");
    assert.deepEqual(readdirSync(dir), ["not-a-dir"]);
  });

  it("a failure after the temporary file was written (rename onto a directory): old content intact, temporary removed", () => {
    const dir = scratch("rename-fails");
    const target = join(dir, "model.safetensors");
    mkdirSync(target);
    writeFileSync(join(target, "inside.txt"), "old");
    throwsRange(() => writeFileAtomic(target, "new content"), /model\.safetensors: cannot write: it is (a|a non-empty) directory/);
    assert.deepEqual(readdirSync(dir), ["model.safetensors"], "no temporary file left behind");
    assert.equal(readFileSync(join(target, "inside.txt"), "utf8"), "old");
  });
});

describe("readFileChecked", () => {
  it("returns the bytes as a plain Uint8Array", () => {
    const dir = scratch("read");
    writeFileSync(join(dir, "a"), Uint8Array.from([5, 6]));
    const bytes = readFileChecked(join(dir, "a"));
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    assert.deepEqual(bytes, Uint8Array.from([5, 6]));
  });

  it("missing, a directory, empty, or under a file: one line naming the path", () => {
    const dir = scratch("read-errors");
    throwsRange(() => readFileChecked(join(dir, "model.safetensors")), /model\.safetensors: no such file$/);
    throwsRange(() => readFileChecked(join(dir, "model.safetensors"), "safetensors file"), /: no such safetensors file$/);
    throwsRange(() => readFileChecked(dir, "safetensors file"), /read-errors: cannot read: it is a directory, expected a safetensors file/);
    writeFileSync(join(dir, "empty"), "");
    throwsRange(() => readFileChecked(join(dir, "empty"), "safetensors file"), /empty: the safetensors file is empty \(0 bytes\)/);
    writeFileSync(join(dir, "file"), "x");
    throwsRange(() => readFileChecked(join(dir, "file", "child")), /child: cannot read: a parent of this path is not a directory/);
  });

  it("permission and space errors become one line naming the path (checked on the mapping: tests run as root)", () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    const mapped = (code: string) => fileError(error(code), "/runs/a/model.safetensors", "cannot read") as Error;
    assert.ok(mapped("EACCES") instanceof RangeError);
    assert.equal(mapped("EACCES").message, "/runs/a/model.safetensors: cannot read: permission denied");
    assert.equal(mapped("ENOSPC").message, "/runs/a/model.safetensors: cannot read: no space left on the device");
    const unknown = error("EWEIRD");
    assert.equal(fileError(unknown, "/x", "cannot read"), unknown, "an unexpected error is rethrown as it is");
  });
});

describe("safetensors files", () => {
  it("save then load: same tensors and metadata; a bad file names its path", () => {
    const dir = scratch("safetensors");
    const path = join(dir, "model.safetensors");
    const tensors = new Map([["head.weight", Tensor.from([1, -2, 3.5, 0.25], [2, 2])], ["head.bias", Tensor.from([0.5, -0.5], [2])]]);
    saveSafetensors(path, tensors, { format: "pt" });
    const loaded = loadSafetensors(path);
    assert.deepEqual({ ...loaded.metadata }, { format: "pt" });
    for (const [name, t] of tensors) {
      assert.deepEqual(loaded.tensors.get(name)!.shape, t.shape);
      assert.deepEqual(loaded.tensors.get(name)!.data, t.data);
    }
    saveSafetensors(path, new Map([["x", Tensor.from([7], [1])]]));
    assert.deepEqual([...loadSafetensors(path).tensors.keys()], ["x"], "replaced");
    assert.deepEqual(readdirSync(dir), ["model.safetensors"]);

    writeFileSync(path, readFileSync(path).subarray(0, 20));
    throwsRange(() => loadSafetensors(path), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: header length \\d+ exceeds the file`));
    throwsRange(() => loadSafetensors(join(dir, "none.safetensors")), /none\.safetensors: no such safetensors file/);
  });
});
