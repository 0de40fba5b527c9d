/**
 * The TBPTT(k1, k2) schedule drawn as docs/tbptt.md draws it: one row per update, one column per time
 * step; a dark cell where the update injects an error (a loss), a light cell where the gradient passes
 * without adding one, a bar at the cut (the states left of it are constants), and the task's marked
 * steps (the sentiment opening, where one-anywhere's 1s fall) as a band above the grid.
 */
import type { DiagramHint } from "../shared/diagram-hint.js";
import { type LayoutRow, reaches, scheduleLayout } from "../shared/schedule-layout.js";
import { type LossChoice, formatLength } from "../shared/settings.js";

const SVG = "http://www.w3.org/2000/svg";
const LABEL_WIDTH = 74;
const ROW_HEIGHT = 18;
const MAX_ROWS = 9;
/** Steps shown for a stream (a language model): a few chunks. */
const STREAM_CHUNKS = 4;

export interface DiagramInput {
  k1: number;
  k2: number;
  loss: LossChoice;
  hint: DiagramHint;
}

function element<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws the diagram into `svg` (width from its container) and returns a sentence explaining it. */
export function drawSchedule(svg: SVGSVGElement, input: DiagramInput, width: number): string {
  const { k1, k2, loss, hint } = input;
  const stream = hint.steps === null;
  const steps = stream ? Math.min(400, Math.max(8, STREAM_CHUNKS * (k1 === Infinity ? 25 : k1))) : hint.steps!;
  const layout = scheduleLayout({ k1, k2, loss, steps, stream, maxRows: MAX_ROWS, lossFrom: hint.lossFrom ?? 1 });
  const cell = Math.max(1, (width - LABEL_WIDTH - 8) / steps);
  const top = hint.marks.length > 0 ? 34 : 20;
  const rowsShown = layout.rows.length + (layout.elided > 0 ? 1 : 0);
  const height = top + rowsShown * ROW_HEIGHT + 4;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const x = (step: number): number => LABEL_WIDTH + (step - 1) * cell; // left edge of 1-based step

  // Step numbers, and the marked stretches above them.
  // Every multiple of the tick, and step 1 when the first multiple is far enough from it.
  const tick = niceTick(steps, cell);
  for (let s = tick >= 5 ? 1 : tick; s <= steps; s = s === 1 && tick > 1 ? tick : s + tick) {
    svg.append(element("text", { x: x(s) + cell / 2, y: top - 6, class: "tick" }, String(s)));
  }
  svg.append(element("text", { x: 2, y: top - 6, class: "axis" }, stream ? "step" : "step"));
  for (const mark of hint.marks) {
    const start = Math.max(1, mark.start + 1);
    const end = Math.min(steps, mark.end);
    if (end < start) continue;
    svg.append(
      element("rect", { x: x(start), y: 2, width: (end - start + 1) * cell, height: 10, rx: 2, class: "mark" }),
    );
    svg.append(
      element("text", { x: x(start), y: 10, dx: (end - start + 1) * cell + 4, class: "mark-label" }, mark.label),
    );
  }
  let y = top;
  layout.rows.forEach((row, i) => {
    drawRow(svg, row, y, cell, x);
    y += ROW_HEIGHT;
    if (layout.elided > 0 && i === layout.elidedAfter - 1) {
      svg.append(element("text", { x: 2, y: y + 12, class: "axis" }, `⋮ ${layout.elided} more`));
      y += ROW_HEIGHT;
    }
  });
  return explain(input, steps, stream);
}

function drawRow(svg: SVGSVGElement, row: LayoutRow, y: number, cell: number, x: (step: number) => number): void {
  svg.append(
    element("text", { x: 2, y: y + 12, class: row.updates ? "row-label" : "row-label muted" }, `upd ${row.update}`),
  );
  if (!row.updates) {
    svg.append(element("text", { x: x(1), y: y + 12, class: "muted" }, `no loss in steps ≤ ${row.time}: no update`));
    return;
  }
  row.cells.forEach((kind, s) => {
    if (kind === "none") return;
    const gap = cell > 4 ? 1 : 0;
    svg.append(
      element("rect", {
        x: x(s + 1) + gap / 2,
        y: y + 2,
        width: Math.max(0.8, cell - gap),
        height: ROW_HEIGHT - 5,
        class: `cell ${kind}`,
      }),
    );
  });
  if (row.cut > 0) {
    svg.append(element("rect", { x: x(row.cut + 1) - 2, y: y, width: 2.5, height: ROW_HEIGHT - 1, class: "cut" }));
  }
}

function niceTick(steps: number, cell: number): number {
  for (const tick of [1, 2, 5, 10, 20, 25, 50, 100, 200, 500]) if (tick * cell >= 26 || tick >= steps) return tick;
  return 1000;
}

/** One or two sentences: what each update does, and whether the gradient reaches the marked steps. */
function explain(input: DiagramInput, steps: number, stream: boolean): string {
  const { k1, k2, loss, hint } = input;
  const parts: string[] = [];
  const every =
    k1 === Infinity ? (stream ? "never (k1 = ∞)" : "once, at the end of each sequence") : `every ${k1} steps`;
  parts.push(
    `An update ${every}; the gradient flows back ${k2 === Infinity ? "to the sequence's start" : `k2 = ${k2} steps`}.`,
  );
  if (loss === "every-step" && k1 !== Infinity && k2 !== Infinity) {
    const oldest = k2 - k1 + 1;
    parts.push(
      oldest >= 1
        ? `The newest error travels ${k2} steps, the oldest ${oldest}.`
        : `Errors more than ${k2} steps before the update reach only the output layer (k2 < k1).`,
    );
  }
  const full = scheduleLayout({ k1, k2, loss, steps, stream, maxRows: Infinity, lossFrom: hint.lossFrom ?? 1 });
  for (const mark of hint.marks) {
    const ok = reaches(full, mark.start + 1, mark.end);
    const where = `steps ${mark.start + 1}–${mark.end} of ${steps}`;
    const what =
      mark.label === "opening"
        ? `the opening (${where}, ${steps - mark.start} words before the end)`
        : `${where} (${mark.label})`;
    parts.push(`The gradient ${ok ? "reaches" : "never reaches"} ${what}.`);
  }
  return `TBPTT(k1 = ${formatLength(k1)}, k2 = ${formatLength(k2)}). ${parts.join(" ")}`;
}
