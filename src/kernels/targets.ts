/**
 * The check every backend makes on class targets before a kernel indexes a row with them: a target is
 * a class in [0, C) or the ignored value. A kernel reads logits[r·C + t], so an unchecked target would
 * read outside the row (or outside the array).
 */
export function requireTargets(kernel: string, N: number, C: number, targets: Int32Array, offset: number, ignoreIndex: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + N > targets.length) {
    throw new RangeError(`${kernel}: targets needs ${N} elements from offset ${offset}, but has ${targets.length}`);
  }
  for (let r = 0; r < N; r++) {
    const t = targets[offset + r]!;
    if ((t < 0 || t >= C) && t !== ignoreIndex) {
      throw new RangeError(`${kernel}: targets[${r}] = ${t} is out of range: expected a class in [0, ${C}) or ignoreIndex (${ignoreIndex})`);
    }
  }
}

/** The check on row ids before a kernel indexes a (V, D) table with them: each in [0, V). */
export function requireIds(kernel: string, N: number, V: number, ids: Int32Array, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + N > ids.length) {
    throw new RangeError(`${kernel}: ids needs ${N} elements from offset ${offset}, but has ${ids.length}`);
  }
  for (let r = 0; r < N; r++) {
    const id = ids[offset + r]!;
    if (id < 0 || id >= V) throw new RangeError(`${kernel}: ids[${r}] = ${id} is out of range: expected a row in [0, ${V})`);
  }
}
