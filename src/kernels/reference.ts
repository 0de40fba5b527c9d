/**
 * The reference backend: plain TypeScript loops, written for clarity. It is the living definition
 * of every kernel (`kernels.ts` states the maths); faster backends must match it.
 */
import type { Kernels } from "./kernels.js";
import { requireClasses, requireRows } from "./targets.js";

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export const referenceKernels: Kernels = {
  name: "reference",

  allocate(length) {
    return new Float32Array(length);
  },

  allocateIndices(length) {
    return new Int32Array(length);
  },

  gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc) {
    if (!accumulate) {
      for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    }
    if (!transA && !transB) {
      // C[i,:] += A[i,k] · B[k,:]
      for (let i = 0; i < M; i++) {
        const c = cOff + i * ldc;
        for (let k = 0; k < K; k++) {
          const a = A[aOff + i * lda + k]!;
          if (a === 0) continue;
          const b = bOff + k * ldb;
          for (let j = 0; j < N; j++) C[c + j]! += a * B[b + j]!;
        }
      }
    } else if (!transA && transB) {
      // C[i,j] += A[i,:] · B[j,:]
      for (let i = 0; i < M; i++) {
        const a = aOff + i * lda;
        for (let j = 0; j < N; j++) {
          const b = bOff + j * ldb;
          let sum = 0;
          for (let k = 0; k < K; k++) sum += A[a + k]! * B[b + k]!;
          C[cOff + i * ldc + j]! += sum;
        }
      }
    } else if (transA && !transB) {
      // C[i,:] += A[k,i] · B[k,:]
      for (let k = 0; k < K; k++) {
        const b = bOff + k * ldb;
        for (let i = 0; i < M; i++) {
          const a = A[aOff + k * lda + i]!;
          if (a === 0) continue;
          const c = cOff + i * ldc;
          for (let j = 0; j < N; j++) C[c + j]! += a * B[b + j]!;
        }
      }
    } else {
      // C[i,j] += Σ_k A[k,i] · B[j,k]
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let sum = 0;
          for (let k = 0; k < K; k++) sum += A[aOff + k * lda + i]! * B[bOff + j * ldb + k]!;
          C[cOff + i * ldc + j]! += sum;
        }
      }
    }
  },

  addRowVector(M, N, C, cOff, bias, biasOff) {
    for (let i = 0; i < M; i++) {
      const c = cOff + i * N;
      for (let j = 0; j < N; j++) C[c + j]! += bias[biasOff + j]!;
    }
  },

  sumSquares(n, a, aOff, b, bOff) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = a[aOff + i]! + (b === null ? 0 : b[bOff + i]!);
      sum += v * v;
    }
    return sum;
  },

  sumRowsInto(M, N, A, aOff, out, outOff) {
    for (let i = 0; i < M; i++) {
      const a = aOff + i * N;
      for (let j = 0; j < N; j++) out[outOff + j]! += A[a + j]!;
    }
  },

  gatherRows(N, D, V, table, tableOff, ids, idsOff, out, outOff) {
    requireRows("gatherRows", "ids", N, V, ids, idsOff);
    for (let r = 0; r < N; r++) {
      const t = tableOff + ids[idsOff + r]! * D;
      const o = outOff + r * D;
      for (let j = 0; j < D; j++) out[o + j] = table[t + j]!;
    }
  },

  scatterAddRows(N, D, V, src, srcOff, ids, idsOff, skipId, table, tableOff) {
    requireRows("scatterAddRows", "ids", N, V, ids, idsOff);
    for (let r = 0; r < N; r++) {
      const id = ids[idsOff + r]!;
      if (id === skipId) continue;
      const t = tableOff + id * D;
      const s = srcOff + r * D;
      for (let j = 0; j < D; j++) table[t + j]! += src[s + j]!;
    }
  },

  rnnStepForward(B, H, relu, pre, preOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        let v: number;
        if (valid) {
          const p = pre[preOff + k]!;
          v = relu ? (p > 0 ? p : 0) : Math.tanh(p);
        } else {
          v = hPrev[hPrevOff + k]!;
        }
        h[hOff + k] = v;
        out[outOff + k] = valid ? v : 0;
      }
    }
  },

  rnnStepBackward(B, H, relu, h, hOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dPre, dPreOff) {
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        if (valid) {
          const g = dh[dhOff + k]! + dOut[dOutOff + k]!;
          const y = h[hOff + k]!;
          dPre[dPreOff + k] = relu ? (y > 0 ? g : 0) : g * (1 - y * y);
          dh[dhOff + k] = 0;
        } else {
          dPre[dPreOff + k] = 0;
        }
      }
    }
  },

  lstmStepForward(B, H, gates, gOff, cPrev, cPrevOff, hPrev, hPrevOff, mask, maskOff, c, cOff, h, hOff, out, outOff) {
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      const row = gOff + b * G;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = sigmoid(gates[row + j]!);
        const f = sigmoid(gates[row + H + j]!);
        const g = Math.tanh(gates[row + 2 * H + j]!);
        const o = sigmoid(gates[row + 3 * H + j]!);
        gates[row + j] = i;
        gates[row + H + j] = f;
        gates[row + 2 * H + j] = g;
        gates[row + 3 * H + j] = o;
        if (valid) {
          const cNew = f * cPrev[cPrevOff + k]! + i * g;
          c[cOff + k] = cNew;
          // Read back the float32-rounded state so backward sees exactly what forward stored.
          const hNew = o * Math.tanh(c[cOff + k]!);
          h[hOff + k] = hNew;
          out[outOff + k] = hNew;
        } else {
          c[cOff + k] = cPrev[cPrevOff + k]!;
          h[hOff + k] = hPrev[hPrevOff + k]!;
          out[outOff + k] = 0;
        }
      }
    }
  },

  lstmStepBackward(B, H, gates, gOff, cPrev, cPrevOff, c, cOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dc, dcOff, dGates, dgOff) {
    const G = 4 * H;
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      const row = gOff + b * G;
      const drow = dgOff + b * G;
      if (!valid) {
        dGates.fill(0, drow, drow + G);
        continue;
      }
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const i = gates[row + j]!;
        const f = gates[row + H + j]!;
        const g = gates[row + 2 * H + j]!;
        const o = gates[row + 3 * H + j]!;
        const tc = Math.tanh(c[cOff + k]!);
        const deltaH = dh[dhOff + k]! + dOut[dOutOff + k]!;
        const deltaC = dc[dcOff + k]! + deltaH * o * (1 - tc * tc);
        dGates[drow + j] = deltaC * g * i * (1 - i);
        dGates[drow + H + j] = deltaC * cPrev[cPrevOff + k]! * f * (1 - f);
        dGates[drow + 2 * H + j] = deltaC * i * (1 - g * g);
        dGates[drow + 3 * H + j] = deltaH * tc * o * (1 - o);
        dc[dcOff + k] = deltaC * f;
        dh[dhOff + k] = 0;
      }
    }
  },

  gruStepForward(B, H, xGates, xOff, hGates, hgOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
    const G = 3 * H;
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      const xrow = xOff + b * G;
      const hrow = hgOff + b * G;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const r = sigmoid(xGates[xrow + j]! + hGates[hrow + j]!);
        const z = sigmoid(xGates[xrow + H + j]! + hGates[hrow + H + j]!);
        const n = Math.tanh(xGates[xrow + 2 * H + j]! + r * hGates[hrow + 2 * H + j]!);
        xGates[xrow + j] = r;
        xGates[xrow + H + j] = z;
        xGates[xrow + 2 * H + j] = n;
        const hp = hPrev[hPrevOff + k]!;
        if (valid) {
          const hNew = (1 - z) * n + z * hp;
          h[hOff + k] = hNew;
          out[outOff + k] = hNew;
        } else {
          h[hOff + k] = hp;
          out[outOff + k] = 0;
        }
      }
    }
  },

  gruStepBackward(B, H, gates, gOff, hGates, hgOff, hPrev, hPrevOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dXGates, dxOff, dHGates, dhgOff) {
    const G = 3 * H;
    for (let b = 0; b < B; b++) {
      const valid = mask === null || mask[maskOff + b] !== 0;
      const row = gOff + b * G;
      const hrow = hgOff + b * G;
      const dxrow = dxOff + b * G;
      const dhrow = dhgOff + b * G;
      if (!valid) {
        dXGates.fill(0, dxrow, dxrow + G);
        dHGates.fill(0, dhrow, dhrow + G);
        continue;
      }
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const r = gates[row + j]!;
        const z = gates[row + H + j]!;
        const n = gates[row + 2 * H + j]!;
        const hn = hGates[hrow + 2 * H + j]!;
        const hp = hPrev[hPrevOff + k]!;
        const deltaH = dh[dhOff + k]! + dOut[dOutOff + k]!;
        const dn = deltaH * (1 - z) * (1 - n * n); // dL/d(x_n + r⊙h_n)
        const dz = deltaH * (hp - n) * z * (1 - z);
        const dr = dn * hn * r * (1 - r);
        dXGates[dxrow + j] = dr;
        dXGates[dxrow + H + j] = dz;
        dXGates[dxrow + 2 * H + j] = dn;
        dHGates[dhrow + j] = dr;
        dHGates[dhrow + H + j] = dz;
        dHGates[dhrow + 2 * H + j] = dn * r;
        dh[dhOff + k] = deltaH * z;
      }
    }
  },

  softmaxCrossEntropy(N, C, logits, lOff, targets, tOff, weights, wOff, ignoreIndex, scale, dLogits, dOff) {
    requireClasses("softmaxCrossEntropy", "targets", N, C, ignoreIndex, "ignoreIndex", targets, tOff);
    let loss = 0;
    let hits = 0;
    for (let r = 0; r < N; r++) {
      const t = targets[tOff + r]!;
      const w = weights === null ? 1 : weights[wOff + r]!;
      const row = lOff + r * C;
      const dRow = dOff + r * C;
      if (t === ignoreIndex || w === 0) {
        dLogits?.fill(0, dRow, dRow + C);
        continue;
      }
      // One pass for the maximum and the first index reaching it, one for Σ exp(z − m).
      let m = logits[row]!;
      let best = 0;
      for (let j = 1; j < C; j++) {
        const z = logits[row + j]!;
        if (z > logits[row + best]!) best = j;
        m = Math.max(m, z);
      }
      let lse = m; // all −∞ gives −∞; +∞ or NaN propagate
      if (Number.isFinite(m)) {
        let s = 0;
        for (let j = 0; j < C; j++) s += Math.exp(logits[row + j]! - m);
        lse = m + Math.log(s);
      }
      loss += w * (lse - logits[row + t]!);
      if (best === t) hits++;
      if (dLogits === null) continue;
      // softmax_j = exp(z_j − lse)
      const ws = w * scale;
      for (let j = 0; j < C; j++) dLogits[dRow + j] = ws * Math.exp(logits[row + j]! - lse);
      dLogits[dRow + t]! -= ws;
    }
    return { loss, hits };
  },

  adamStep(n, theta, thetaOff, grad, gOff, m, mOff, v, vOff, vMax, vMaxOff, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink) {
    for (let j = 0; j < n; j++) {
      const p = theta[thetaOff + j]! * shrink;
      const g = grad[gOff + j]! + l2 * p;
      const mj = beta1 * m[mOff + j]! + (1 - beta1) * g;
      const vj = beta2 * v[vOff + j]! + (1 - beta2) * g * g;
      m[mOff + j] = mj;
      v[vOff + j] = vj;
      let vHat = vj;
      if (vMax !== null) {
        vHat = Math.max(vMax[vMaxOff + j]!, vj);
        vMax[vMaxOff + j] = vHat;
      }
      theta[thetaOff + j] = p - (stepSize * mj) / (Math.sqrt(vHat) / biasCorrection2Sqrt + eps);
    }
  },
};
