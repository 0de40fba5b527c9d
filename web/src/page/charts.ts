/**
 * The live plots, Vega-Lite specs rendered by vega-embed; new points are streamed into each view's
 * named data set (a Vega changeset), so a plot is never rebuilt while training runs.
 *
 *   curves   training and held-out loss, and accuracy, against updates
 *   norm     the global gradient norm before clipping against updates, with the clipping threshold
 *   flow     mean ‖∂L/∂h_{t−ℓ}‖ against the lag ℓ, one line per layer (log scale): the vanishing
 *            gradient, from the trainer's GradientFlow diagnostics over the last updates
 *   probe    sentiment: mean P(correct label) against the distance of the opening from the answer,
 *            with the reach of the gradient (k2) and chance (0.5) drawn in
 */
import embed, { type Result, type VisualizationSpec, vega } from "vega-embed";
import type { GradientFlowView, HeldOutPoint, ProbeView, TrainPoint } from "../shared/protocol.js";

const WIDTH = "container" as const;
const HEIGHT = 190;
const SERIES_COLORS = { domain: ["training", "held out"], range: ["#8a94a6", "#2f6fdf"] };
const CONFIG = {
  font: "Inter, system-ui, sans-serif",
  view: { stroke: null },
  axis: {
    labelColor: "#4a5568",
    titleColor: "#2d3748",
    gridColor: "#edf0f5",
    domainColor: "#cbd2dc",
    tickColor: "#cbd2dc",
    titleFontWeight: 500,
  },
  legend: { labelColor: "#4a5568", titleColor: "#2d3748", orient: "top", title: null },
};

/** What every plot shares: the schema, a width that fills its card, the height, the look. */
const FRAME = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: WIDTH,
  height: HEIGHT,
  autosize: { type: "fit", contains: "padding" },
  config: CONFIG,
} as const;

function curveSpec(field: "loss" | "accuracy", title: string): VisualizationSpec {
  const percent = field === "accuracy";
  return {
    ...FRAME,
    data: { name: "points" },
    mark: { type: "line", strokeWidth: 2, point: { size: 14, filled: true } },
    encoding: {
      x: { field: "update", type: "quantitative", title: "updates", axis: { format: "~s" } },
      y: {
        field,
        type: "quantitative",
        title,
        ...(percent
          ? { scale: { domain: [0, 1] }, axis: { format: "%" } }
          : { scale: { zero: true }, axis: { format: "~g" } }),
      },
      color: { field: "series", type: "nominal", scale: SERIES_COLORS },
    },
  } as VisualizationSpec;
}

/** Log axes label only the powers of ten (the minor grid lines stay). */
const POWERS_OF_TEN = "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? datum.label : ''";

/** A quantity spanning decades (a gradient norm), on a log scale. */
function logAxis(field: string, title: string): object {
  return {
    field,
    type: "quantitative",
    title,
    scale: { type: "log" },
    axis: { format: "~g", labelExpr: POWERS_OF_TEN },
  };
}

const NORM_SPEC = {
  ...FRAME,
  layer: [
    {
      data: { name: "norms" },
      mark: { type: "line", strokeWidth: 1.5, color: "#6b46c1", point: { size: 10, filled: true, color: "#6b46c1" } },
      encoding: {
        x: { field: "update", type: "quantitative", title: "updates", axis: { format: "~s" } },
        y: logAxis("gradNorm", "‖g‖ before clipping"),
      },
    },
    {
      data: { name: "clip" },
      layer: [
        {
          mark: { type: "rule", color: "#c53030", strokeDash: [5, 3] },
          encoding: { y: { field: "clip", type: "quantitative" } },
        },
        {
          mark: { type: "text", color: "#c53030", align: "left", dx: 4, dy: -6 },
          encoding: { y: { field: "clip", type: "quantitative" }, x: { value: 0 }, text: { field: "label" } },
        },
      ],
    },
  ],
} as VisualizationSpec;

const FLOW_SPEC = {
  ...FRAME,
  data: { name: "flow" },
  mark: { type: "line", strokeWidth: 2, point: { size: 12, filled: true } },
  encoding: {
    x: { field: "lag", type: "quantitative", title: "lag ℓ (steps back from the update)", axis: { format: "~g" } },
    y: logAxis("norm", "‖∂L/∂h(t−ℓ)‖"),
    color: { field: "layer", type: "nominal", scale: { scheme: "tableau10" } },
  },
} as VisualizationSpec;

const PROBE_SPEC = {
  ...FRAME,
  layer: [
    {
      data: { values: [{ p: 0.5 }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "#a0aec0" },
      encoding: { y: { field: "p", type: "quantitative" } },
    },
    {
      data: { name: "reach" },
      layer: [
        {
          mark: { type: "rule", color: "#e07a1f", strokeWidth: 1.5 },
          encoding: { x: { field: "k2", type: "quantitative" } },
        },
        {
          mark: { type: "text", color: "#e07a1f", align: "left", dx: 4, dy: -4, baseline: "bottom" },
          encoding: { x: { field: "k2", type: "quantitative" }, y: { datum: 0.02 }, text: { field: "label" } },
        },
      ],
    },
    {
      data: { name: "probe" },
      mark: { type: "line", strokeWidth: 2, color: "#2f6fdf", point: { size: 16, filled: true, color: "#2f6fdf" } },
      encoding: {
        x: {
          field: "distance",
          type: "quantitative",
          title: "distance of the opening from the answer (words)",
          axis: { format: "~g" },
        },
        y: { field: "pCorrect", type: "quantitative", title: "mean P(correct label)", scale: { domain: [0, 1] } },
      },
    },
  ],
} as VisualizationSpec;

/** A plot whose named data set is replaced or extended as points arrive. */
class LivePlot {
  private constructor(private readonly result: Result) {}

  static async create(element: HTMLElement, spec: VisualizationSpec): Promise<LivePlot> {
    return new LivePlot(await embed(element, spec, { actions: false, renderer: "svg", logLevel: vega.Error }));
  }

  append(data: string, rows: object[]): void {
    if (rows.length > 0) void this.result.view.change(data, vega.changeset().insert(rows)).runAsync();
  }

  replace(data: string, rows: object[]): void {
    void this.result.view
      .change(
        data,
        vega
          .changeset()
          .remove(() => true)
          .insert(rows),
      )
      .runAsync();
  }

  resize(): void {
    void this.result.view.resize().runAsync();
  }
}

export interface ChartElements {
  loss: HTMLElement;
  accuracy: HTMLElement;
  flow: HTMLElement;
  norm: HTMLElement;
  probe: HTMLElement;
}

export class Charts {
  private constructor(
    private readonly loss: LivePlot,
    private readonly accuracy: LivePlot,
    private readonly flow: LivePlot,
    private readonly norm: LivePlot,
    private readonly probe: LivePlot,
  ) {}

  static async create(elements: ChartElements): Promise<Charts> {
    const [loss, accuracy, flow, norm, probe] = await Promise.all([
      LivePlot.create(elements.loss, curveSpec("loss", "loss (nats per prediction)")),
      LivePlot.create(elements.accuracy, curveSpec("accuracy", "accuracy")),
      LivePlot.create(elements.flow, FLOW_SPEC),
      LivePlot.create(elements.norm, NORM_SPEC),
      LivePlot.create(elements.probe, PROBE_SPEC),
    ]);
    return new Charts(loss, accuracy, flow, norm, probe);
  }

  clear(): void {
    const all = [
      [this.loss, "points"],
      [this.accuracy, "points"],
      [this.flow, "flow"],
      [this.norm, "norms"],
      [this.probe, "probe"],
    ] as const;
    for (const [plot, data] of all) plot.replace(data, []);
  }

  addTraining(points: TrainPoint[]): void {
    this.loss.append(
      "points",
      points.map((p) => ({ update: p.update, loss: p.loss, series: "training" })),
    );
    this.accuracy.append(
      "points",
      points
        .filter((p) => p.accuracy !== null)
        .map((p) => ({ update: p.update, accuracy: p.accuracy, series: "training" })),
    );
    this.norm.append(
      "norms",
      points.filter((p) => p.gradNorm > 0).map((p) => ({ update: p.update, gradNorm: p.gradNorm })),
    );
  }

  /** The clipping threshold on the gradient-norm plot (null: no clipping). */
  setClip(clipNorm: number | null): void {
    this.norm.replace("clip", clipNorm === null ? [] : [{ clip: clipNorm, label: `clipped above ${clipNorm}` }]);
  }

  addHeldOut(point: HeldOutPoint): void {
    this.loss.append("points", [{ update: point.update, loss: point.loss, series: "held out" }]);
    if (point.accuracy !== null) {
      this.accuracy.append("points", [{ update: point.update, accuracy: point.accuracy, series: "held out" }]);
    }
  }

  setFlow(flow: GradientFlowView): void {
    const rows = flow.norms.flatMap((byLag, layer) =>
      byLag.flatMap((norm, lag) =>
        Number.isFinite(norm) && norm > 0 ? [{ layer: `layer ${layer + 1}`, lag, norm }] : [],
      ),
    );
    this.flow.replace("flow", rows);
  }

  setProbe(points: ProbeView[]): void {
    this.probe.replace("probe", points);
  }

  /** Where the gradient's reach ends on the probe's distance axis (k2; nothing for k2 = ∞). */
  setReach(k2: number): void {
    this.probe.replace("reach", k2 === Infinity ? [] : [{ k2, label: `k2 = ${k2}` }]);
  }

  resize(): void {
    for (const plot of [this.loss, this.accuracy, this.flow, this.norm, this.probe]) plot.resize();
  }
}
