/**
 * The playground's schedule diagram (web/src/shared/schedule-layout.ts) against the pictures of
 * docs/tbptt.md: which steps each update injects errors at (E), where the gradient passes (·), where
 * only the head learns (h), and the cut (|, states left of it are constants).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type LayoutOptions,
  type ScheduleLayout,
  reaches,
  scheduleLayout,
} from "../../web/src/shared/schedule-layout.js";

const SYMBOL = { error: "E", gradient: "·", "head-only": "h", none: " " } as const;

/** One line per update, as docs/tbptt.md draws them: "|" after the cut step, then the cells. */
function picture(layout: ScheduleLayout): string[] {
  return layout.rows.map((row) => {
    if (!row.updates) return `upd ${row.update}: no update`;
    const cells: string[] = row.cells.map((kind) => SYMBOL[kind]);
    if (row.cut > 0) cells.splice(row.cut, 0, "|");
    else cells.unshift("|");
    return `upd ${row.update}: ${cells.join("").trimEnd()}`;
  });
}

const layout = (o: Partial<LayoutOptions> & Pick<LayoutOptions, "k1" | "k2">): ScheduleLayout =>
  scheduleLayout({ loss: "every-step", steps: 8, stream: false, maxRows: Infinity, ...o });

describe("the schedule diagram's layout (docs/tbptt.md)", () => {
  it("k1 = k2 = 4: disjoint chunks, each cut where the previous ends", () => {
    assert.deepEqual(picture(layout({ k1: 4, k2: 4 })), ["upd 1: |EEEE", "upd 2:     |EEEE"]);
  });

  it("k1 = 2, k2 = 4: overlapping windows, the newest error travels 4 steps, the oldest 3", () => {
    assert.deepEqual(picture(layout({ k1: 2, k2: 4, steps: 6 })), ["upd 1: |EE", "upd 2: |··EE", "upd 3:   |··EE"]);
  });

  it("k1 = 4, k2 = 2: the first two losses of each chunk train only the head", () => {
    assert.deepEqual(picture(layout({ k1: 4, k2: 2 })), ["upd 1: hh|EE", "upd 2:     hh|EE"]);
  });

  it("online (k1 = 1, k2 = ∞) and full BPTT (k1 = k2 = ∞)", () => {
    assert.deepEqual(picture(layout({ k1: 1, k2: Infinity, steps: 3 })), ["upd 1: |E", "upd 2: |·E", "upd 3: |··E"]);
    assert.deepEqual(picture(layout({ k1: Infinity, k2: Infinity, steps: 5 })), ["upd 1: |EEEEE"]);
  });

  it("a loss at the end: chunks without a loss make no update; every chunk: one error per chunk", () => {
    assert.deepEqual(picture(layout({ k1: 3, k2: 3, loss: "end" })), [
      "upd 1: no update",
      "upd 2: no update",
      "upd 3:      |··E",
    ]);
    assert.deepEqual(picture(layout({ k1: 3, k2: 3, loss: "every-chunk" })), [
      "upd 1: |··E",
      "upd 2:    |··E",
      "upd 3:      |··E",
    ]);
    assert.deepEqual(picture(layout({ k1: 3, k2: 3, loss: "end", stream: true })), [
      "upd 1: no update",
      "upd 2: no update",
      "upd 3: no update",
    ]);
  });

  it("steps before the first target carry no loss (framewise labelling with a delay)", () => {
    assert.deepEqual(picture(layout({ k1: 4, k2: 4, lossFrom: 3 })), ["upd 1: |··EE", "upd 2:     |EEEE"]);
  });

  it("says whether any gradient reaches a stretch of steps (the sentiment opening)", () => {
    const end = layout({ k1: Infinity, k2: 30, loss: "end", steps: 110 });
    assert.equal(reaches(end, 1, 3), false);
    assert.equal(reaches(end, 81, 110), true);
    assert.equal(reaches(layout({ k1: 30, k2: 30, loss: "every-chunk", steps: 110 }), 1, 3), true);
  });

  it("keeps the first and last rows when there are more than maxRows", () => {
    const long = scheduleLayout({ k1: 1, k2: 5, loss: "every-step", steps: 100, stream: false, maxRows: 7 });
    assert.deepEqual(
      long.rows.map((r) => r.update),
      [1, 2, 3, 98, 99, 100],
    );
    assert.equal(long.elided, 94);
    assert.equal(long.elidedAfter, 3);
  });
});
