/**
 * SVG plots for experiment reports, drawn by Vega-Lite (compiled to Vega, rendered headless to SVG).
 * No canvas and no browser: Vega's SVG string renderer estimates text widths itself.
 *
 * Vega and Vega-Lite are loaded on first use, not when this file is imported: they are optional peer
 * dependencies of the package (only `bptt experiment` draws plots), so the core and the other
 * commands neither load nor need them.
 */
import type { TopLevelSpec } from "vega-lite";

export type Row = Record<string, string | number | boolean | null>;

interface Plotting {
  vega: typeof import("vega");
  vegaLite: typeof import("vega-lite");
}

let plotting: Promise<Plotting> | null = null;

/**
 * Loads Vega and Vega-Lite (once). When they are not installed, a RangeError (one line at the command
 * line) says what to install: `bptt experiment` calls this before it starts training.
 */
export function loadPlotting(): Promise<Plotting> {
  plotting ??= Promise.all([import("vega"), import("vega-lite")]).then(
    ([vega, vegaLite]) => ({ vega, vegaLite }),
    (error: unknown) => {
      plotting = null;
      if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
      throw new RangeError(
        "the experiment reports draw their plots with vega and vega-lite, which are not installed: npm install vega@6 vega-lite@6",
      );
    },
  );
  return plotting;
}

/** Renders any Vega-Lite specification to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadPlotting();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Axis {
  field: string;
  title: string;
  /** Logarithmic scale (values must be > 0). */
  log?: boolean;
  /** Fixed domain, e.g. [0, 1] for an accuracy. */
  domain?: [number, number];
  /** Axis labels as percentages. */
  percent?: boolean;
}

export interface LineChartOptions {
  title: string;
  rows: Row[];
  x: Axis;
  y: Axis;
  /** A field whose values are drawn as separate coloured lines. */
  color?: { field: string; title: string };
  /** A field whose values split the chart into side-by-side panels. */
  column?: { field: string; title: string };
  /** Draw a point at every value (default true). */
  points?: boolean;
  width?: number;
  height?: number;
}

function quantitative(axis: Axis): Record<string, unknown> {
  return {
    field: axis.field, type: "quantitative", title: axis.title,
    scale: { ...(axis.log ? { type: "log" } : { zero: false }), ...(axis.domain ? { domain: axis.domain } : {}) },
    ...(axis.percent ? { axis: { format: ".0%" } } : {}),
  };
}

/** Lines of y against x, one per value of `color`, optionally in panels by `column`. */
export function lineChart(options: LineChartOptions): Promise<string> {
  const encoding: Record<string, unknown> = { x: quantitative(options.x), y: quantitative(options.y) };
  if (options.color) encoding.color = { field: options.color.field, type: "nominal", title: options.color.title };
  if (options.column) encoding.column = { field: options.column.field, type: "nominal", title: options.column.title };
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title,
    data: { values: options.rows },
    width: options.width ?? 420,
    height: options.height ?? 260,
    mark: { type: "line", point: options.points ?? true },
    encoding,
  } as TopLevelSpec);
}

export interface BarChartOptions {
  title: string;
  rows: Row[];
  /** The category on the x axis. */
  x: { field: string; title: string; sort?: string[] };
  y: Axis;
  /** Bars side by side within each x category, coloured by this field. */
  group?: { field: string; title: string };
  width?: number;
  height?: number;
}

/** Bars of y per category, grouped side by side when `group` is given. */
export function barChart(options: BarChartOptions): Promise<string> {
  const encoding: Record<string, unknown> = {
    x: { field: options.x.field, type: "nominal", title: options.x.title, sort: options.x.sort ?? null, axis: { labelAngle: 0 } },
    y: quantitative({ ...options.y, domain: options.y.domain }),
  };
  if (options.group) {
    encoding.color = { field: options.group.field, type: "nominal", title: options.group.title };
    encoding.xOffset = { field: options.group.field, type: "nominal" };
  }
  return renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title,
    data: { values: options.rows },
    width: options.width ?? 420,
    height: options.height ?? 260,
    mark: "bar",
    encoding,
  } as TopLevelSpec);
}
