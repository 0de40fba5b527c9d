/**
 * The fused per-step kernels of the three cells, forward above backward for each; kernels.ts states
 * the maths, reference.ts is the specification. Pointers are byte addresses of each block's first
 * element; `mask` is 0 for "no mask". Every row is processed 4 lanes at a time; a row's tail
 * (H not a multiple of 4) goes through the same arithmetic with partial loads and stores.
 *
 * Legend: B = batch rows, H = hidden size; gate blocks are H wide within a row of 4H (LSTM: i, f, g, o)
 * or 3H (GRU: r, z, n).
 */
import { sigmoid4, tanh4 } from "./activations";
import { loadLanes as ld, oneMinusSquare, rowValid, storeLanes as st } from "./vector";

// ---------------------------------------------------------------------------------------------
// Vanilla RNN

/** h = act(pre) on valid rows, hPrev on masked rows; out = mask·h. pre, hPrev, h, out: (B, H). */
export function rnnStepForward(B: i32, H: i32, relu: bool, pre: usize, hPrev: usize, mask: usize, h: usize, out: usize): void {
  const zero = f32x4.splat(0);
  for (let b = 0; b < B; b++) {
    const valid = rowValid(mask, b);
    const row = <usize>(b * H) << 2;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      if (valid) {
        const p = ld(pre + k, n);
        const v = relu ? f32x4.pmax(zero, p) : tanh4(p);
        st(h + k, v, n);
        st(out + k, v, n);
      } else {
        st(h + k, ld(hPrev + k, n), n);
        st(out + k, zero, n);
      }
    }
  }
}

/** g = dh + dOut; dPre = mask·g·act′(h); dh = (1 − mask)·g. h, dOut, dh, dPre: (B, H). */
export function rnnStepBackward(B: i32, H: i32, relu: bool, h: usize, dOut: usize, mask: usize, dh: usize, dPre: usize): void {
  const zero = f32x4.splat(0);
  for (let b = 0; b < B; b++) {
    const valid = rowValid(mask, b);
    const row = <usize>(b * H) << 2;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      if (valid) {
        const g = f32x4.add(ld(dh + k, n), ld(dOut + k, n));
        const y = ld(h + k, n);
        st(dPre + k, relu ? v128.and(g, f32x4.gt(y, zero)) : f32x4.mul(g, oneMinusSquare(y)), n);
        st(dh + k, zero, n);
      } else {
        st(dPre + k, zero, n);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// LSTM

/**
 * gates (B, 4H): pre-activations in, activations (σ, σ, tanh, σ) out. c = f⊙cPrev + i⊙g and
 * h = o⊙tanh(c) on valid rows; masked rows carry cPrev, hPrev; out = mask·h. cPrev … out: (B, H).
 * peephole (3H) or 0: i, f also read p_i⊙cPrev, p_f⊙cPrev and o reads p_o⊙c̃, c̃ = f⊙cPrev + i⊙g.
 */
export function lstmStepForward(
  B: i32, H: i32, gates: usize, peephole: usize, cPrev: usize, hPrev: usize, mask: usize,
  c: usize, h: usize, out: usize,
): void {
  const zero = f32x4.splat(0);
  const gateBytes = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const valid = rowValid(mask, b);
    const row = <usize>(b * H) << 2;
    const gRow = gates + (<usize>(b * 4 * H) << 2);
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      const gi = gRow + (<usize>j << 2);
      const gf = gi + gateBytes, gg = gf + gateBytes, go = gg + gateBytes;
      const cp = ld(cPrev + k, n);
      let preI = ld(gi, n);
      let preF = ld(gf, n);
      let preO = ld(go, n);
      const pi = peephole + (<usize>j << 2);
      if (peephole != 0) {
        preI = f32x4.add(preI, f32x4.mul(ld(pi, n), cp));
        preF = f32x4.add(preF, f32x4.mul(ld(pi + gateBytes, n), cp));
      }
      const i = sigmoid4(preI);
      const f = sigmoid4(preF);
      const g = tanh4(ld(gg, n));
      const cNew = f32x4.add(f32x4.mul(f, cp), f32x4.mul(i, g));
      if (peephole != 0) preO = f32x4.add(preO, f32x4.mul(ld(pi + 2 * gateBytes, n), cNew));
      const o = sigmoid4(preO);
      st(gi, i, n);
      st(gf, f, n);
      st(gg, g, n);
      st(go, o, n);
      if (valid) {
        const hNew = f32x4.mul(o, tanh4(cNew));
        st(c + k, cNew, n);
        st(h + k, hNew, n);
        st(out + k, hNew, n);
      } else {
        st(c + k, cp, n);
        st(h + k, ld(hPrev + k, n), n);
        st(out + k, zero, n);
      }
    }
  }
}

/**
 * With δh = dh + dOut, δo = δh⊙tanh(c)⊙o(1−o) and δc = dc + δh⊙o⊙(1 − tanh²c) [+ δo⊙p_o] on valid rows:
 *   dGates = (δc⊙g⊙i(1−i), δc⊙cPrev⊙f(1−f), δc⊙i⊙(1−g²), δo),  dc = δc⊙f [+ δi⊙p_i + δf⊙p_f],  dh = 0;
 *   with peepholes and dPeephole ≠ 0: dPeephole += (δi⊙cPrev, δf⊙cPrev, δo⊙c), row after row.
 * Masked rows keep dh, dc and get dGates = 0. gates, dGates: (B, 4H); peephole, dPeephole (3H); the rest (B, H).
 */
export function lstmStepBackward(
  B: i32, H: i32, gates: usize, peephole: usize, cPrev: usize, c: usize, dOut: usize, mask: usize, dh: usize, dc: usize,
  dGates: usize, dPeephole: usize,
): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const gateBytes = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const gRowOffset = <usize>(b * 4 * H) << 2;
    if (!rowValid(mask, b)) {
      memory.fill(dGates + gRowOffset, 0, gateBytes << 2);
      continue;
    }
    const row = <usize>(b * H) << 2;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      const gi = gRowOffset + (<usize>j << 2);
      const gf = gi + gateBytes, gg = gf + gateBytes, go = gg + gateBytes;
      const i = ld(gates + gi, n);
      const f = ld(gates + gf, n);
      const g = ld(gates + gg, n);
      const o = ld(gates + go, n);
      const cp = ld(cPrev + k, n);
      const ct = ld(c + k, n);
      const tc = tanh4(ct);
      const deltaH = f32x4.add(ld(dh + k, n), ld(dOut + k, n));
      const deltaO = f32x4.mul(f32x4.mul(f32x4.mul(deltaH, tc), o), f32x4.sub(one, o));
      let deltaC = f32x4.add(ld(dc + k, n), f32x4.mul(f32x4.mul(deltaH, o), oneMinusSquare(tc)));
      const pi = peephole + (<usize>j << 2);
      if (peephole != 0) deltaC = f32x4.add(deltaC, f32x4.mul(deltaO, ld(pi + 2 * gateBytes, n)));
      const deltaI = f32x4.mul(f32x4.mul(f32x4.mul(deltaC, g), i), f32x4.sub(one, i));
      const deltaF = f32x4.mul(f32x4.mul(f32x4.mul(deltaC, cp), f), f32x4.sub(one, f));
      st(dGates + gi, deltaI, n);
      st(dGates + gf, deltaF, n);
      st(dGates + gg, f32x4.mul(f32x4.mul(deltaC, i), oneMinusSquare(g)), n);
      st(dGates + go, deltaO, n);
      let dcPrev = f32x4.mul(deltaC, f);
      if (peephole != 0) {
        dcPrev = f32x4.add(f32x4.add(dcPrev, f32x4.mul(deltaI, ld(pi, n))), f32x4.mul(deltaF, ld(pi + gateBytes, n)));
        if (dPeephole != 0) {
          const dpi = dPeephole + (<usize>j << 2);
          st(dpi, f32x4.add(ld(dpi, n), f32x4.mul(deltaI, cp)), n);
          st(dpi + gateBytes, f32x4.add(ld(dpi + gateBytes, n), f32x4.mul(deltaF, cp)), n);
          st(dpi + 2 * gateBytes, f32x4.add(ld(dpi + 2 * gateBytes, n), f32x4.mul(deltaO, ct)), n);
        }
      }
      st(dc + k, dcPrev, n);
      st(dh + k, zero, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GRU

/**
 * xGates (B, 3H): W_ih·x + b_ih in, activations (r, z, n) out; hGates (B, 3H) = W_hh·hPrev + b_hh.
 *   r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r⊙h_n), h = (1 − z)⊙n + z⊙hPrev on valid rows,
 * hPrev on masked rows; out = mask·h.
 */
export function gruStepForward(
  B: i32, H: i32, xGates: usize, hGates: usize, hPrev: usize, mask: usize, h: usize, out: usize,
): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const gateBytes = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const valid = rowValid(mask, b);
    const row = <usize>(b * H) << 2;
    const gRowOffset = <usize>(b * 3 * H) << 2;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      const gr = gRowOffset + (<usize>j << 2);
      const gz = gr + gateBytes, gn = gz + gateBytes;
      const r = sigmoid4(f32x4.add(ld(xGates + gr, n), ld(hGates + gr, n)));
      const z = sigmoid4(f32x4.add(ld(xGates + gz, n), ld(hGates + gz, n)));
      const nn = tanh4(f32x4.add(ld(xGates + gn, n), f32x4.mul(r, ld(hGates + gn, n))));
      st(xGates + gr, r, n);
      st(xGates + gz, z, n);
      st(xGates + gn, nn, n);
      const hp = ld(hPrev + k, n);
      if (valid) {
        const hNew = f32x4.add(f32x4.mul(f32x4.sub(one, z), nn), f32x4.mul(z, hp));
        st(h + k, hNew, n);
        st(out + k, hNew, n);
      } else {
        st(h + k, hp, n);
        st(out + k, zero, n);
      }
    }
  }
}

/**
 * gates (B, 3H): the (r, z, n) activations; hGates: W_hh·hPrev + b_hh. With δh = dh + dOut on valid rows:
 *   dn = δh(1−z)(1−n²), dz = δh(hPrev−n)z(1−z), dr = dn·h_n·r(1−r);
 *   dXGates = (dr, dz, dn), dHGates = (dr, dz, dn⊙r), dh = δh⊙z. Masked rows keep dh and get zeros.
 */
export function gruStepBackward(
  B: i32, H: i32, gates: usize, hGates: usize, hPrev: usize, dOut: usize, mask: usize,
  dh: usize, dXGates: usize, dHGates: usize,
): void {
  const one = f32x4.splat(1);
  const gateBytes = <usize>H << 2;
  for (let b = 0; b < B; b++) {
    const gRowOffset = <usize>(b * 3 * H) << 2;
    if (!rowValid(mask, b)) {
      memory.fill(dXGates + gRowOffset, 0, gateBytes * 3);
      memory.fill(dHGates + gRowOffset, 0, gateBytes * 3);
      continue;
    }
    const row = <usize>(b * H) << 2;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const k = row + (<usize>j << 2);
      const gr = gRowOffset + (<usize>j << 2);
      const gz = gr + gateBytes, gn = gz + gateBytes;
      const r = ld(gates + gr, n);
      const z = ld(gates + gz, n);
      const nn = ld(gates + gn, n);
      const hn = ld(hGates + gn, n);
      const hp = ld(hPrev + k, n);
      const deltaH = f32x4.add(ld(dh + k, n), ld(dOut + k, n));
      const dn = f32x4.mul(f32x4.mul(deltaH, f32x4.sub(one, z)), oneMinusSquare(nn));
      const dz = f32x4.mul(f32x4.mul(f32x4.mul(deltaH, f32x4.sub(hp, nn)), z), f32x4.sub(one, z));
      const dr = f32x4.mul(f32x4.mul(f32x4.mul(dn, hn), r), f32x4.sub(one, r));
      st(dXGates + gr, dr, n);
      st(dXGates + gz, dz, n);
      st(dXGates + gn, dn, n);
      st(dHGates + gr, dr, n);
      st(dHGates + gz, dz, n);
      st(dHGates + gn, f32x4.mul(dn, r), n);
      st(dh + k, f32x4.mul(deltaH, z), n);
    }
  }
}
