/**
 * The checks every backend makes on integer index arrays before a kernel addresses rows with them: a
 * row id lies in [0, V) (a kernel reads table[id·D …]), a class target in [0, C) or is the ignored value
 * (a kernel reads logits[r·C + t]). An unchecked index would read outside the row, or the array.
 */

/** `name`[offset … offset + N) must exist and each lie in [0, V): RangeError naming the kernel and argument otherwise. */
export function requireRows(kernel: string, name: string, N: number, V: number, ids: Int32Array, offset: number): void {
  requireBlock(kernel, name, N, ids, offset);
  for (let r = 0; r < N; r++) {
    const id = ids[offset + r]!;
    if (id < 0 || id >= V) {
      throw new RangeError(`${kernel}: ${name}[${r}] = ${id} is out of range: expected a row in [0, ${V})`);
    }
  }
}

/** `name`[offset … offset + N) must exist and each lie in [0, C) or equal `except` (the argument `exceptName`). */
export function requireClasses(
  kernel: string, name: string, N: number, C: number, except: number, exceptName: string,
  targets: Int32Array, offset: number,
): void {
  requireBlock(kernel, name, N, targets, offset);
  for (let r = 0; r < N; r++) {
    const t = targets[offset + r]!;
    if ((t < 0 || t >= C) && t !== except) {
      const expected = `expected a class in [0, ${C}) or ${exceptName} (${except})`;
      throw new RangeError(`${kernel}: ${name}[${r}] = ${t} is out of range: ${expected}`);
    }
  }
}

function requireBlock(kernel: string, name: string, N: number, array: Int32Array, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + N > array.length) {
    throw new RangeError(`${kernel}: ${name} needs ${N} elements from offset ${offset}, but has ${array.length}`);
  }
}
