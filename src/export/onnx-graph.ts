/**
 * A small builder of ONNX models over the protobuf messages generated from ONNX's own onnx.proto
 * (proto/onnx_pb.ts, serialised by @bufbuild/protobuf): graph inputs and outputs with fixed or
 * symbolic dimensions ("T", "B"), initializers, nodes with typed attributes, and subgraphs (a Scan's
 * body), which may read the values of the graphs around them. It knows nothing of recurrent networks:
 * onnx.ts, onnx-recurrent.ts and onnx-scan.ts build the graph of a bptt model with it.
 *
 * Initializer values are stored as raw_data, little-endian as ONNX requires, written through a
 * DataView so that the bytes are right whatever the host's byte order.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  GraphProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "./proto/onnx_pb.js";

/** A dimension: a fixed size, or a symbolic name that every value sharing it agrees on. */
export type Dim = number | string;

export type ElementType = "float32" | "int32" | "int64" | "bool";

const ELEMENT_TYPES: Record<ElementType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  int32: TensorProto_DataType.INT32,
  int64: TensorProto_DataType.INT64,
  bool: TensorProto_DataType.BOOL,
};

/** A graph input or output as the model declares it. */
export interface ValueSpec {
  name: string;
  type: ElementType;
  dims: readonly Dim[];
  /** Shown by model viewers and kept in the file: what the value means, its layout. */
  doc: string;
}

export interface ModelInfo {
  /** The default-domain operator set the graph's nodes use. */
  opset: number;
  /** The ONNX IR version of the file. */
  irVersion: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  docString: string;
  /** metadata_props: free-form key → value strings (ONNX Runtime: InferenceSession metadata). */
  metadata: Readonly<Record<string, string>>;
}

export class OnnxGraph {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  /** Every value name defined so far (inputs, initializers, node outputs): each is defined once. */
  private readonly defined = new Set<string>();

  /**
   * A graph, or with `outer` a subgraph (an attribute of a node of `outer`, such as a Scan's body) whose
   * nodes may read outer's values by name; `prefix` starts its node names.
   */
  constructor(private readonly outer: OnnxGraph | null = null, private readonly prefix = "") {}

  input(spec: ValueSpec): string {
    this.define(spec.name);
    this.inputs.push(valueInfo(spec));
    return spec.name;
  }

  /** Declares an already defined value (a node's output) as a graph output. */
  output(spec: ValueSpec): void {
    if (!this.defined.has(spec.name)) throw new Error(`ONNX graph: output ${spec.name} is not computed by any node`);
    this.outputs.push(valueInfo(spec));
  }

  /** A float32 constant of shape `dims` (row-major), e.g. a weight matrix; `doc` says where it came from. */
  floatInitializer(name: string, dims: readonly number[], values: Float32Array, doc = ""): string {
    checkSize(name, dims, values.length);
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.initializer(name, dims, TensorProto_DataType.FLOAT, bytes, doc);
  }

  /** An int64 constant, e.g. the axes or bounds an operator takes as an input. */
  int64Initializer(name: string, dims: readonly number[], values: readonly number[]): string {
    checkSize(name, dims, values.length);
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    return this.initializer(name, dims, TensorProto_DataType.INT64, bytes, "");
  }

  /** A small int64 vector constant (axes, bounds, shapes), one initializer per distinct value. */
  int64Constant(values: readonly number[]): string {
    const name = `const_int64_${values.join("_").replace(/-/g, "m")}`;
    return this.defined.has(name) ? name : this.int64Initializer(name, [values.length], values);
  }

  /** An int64 scalar constant (an index, a bound), one initializer per distinct value. */
  int64Scalar(value: number): string {
    const name = `const_int64_scalar_${String(value).replace(/-/g, "m")}`;
    return this.defined.has(name) ? name : this.int64Initializer(name, [], [value]);
  }

  /**
   * A node of the default domain. An empty string in `inputs` leaves an optional input out, as ONNX
   * specifies. Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: AttributeProto[] = [],
  ): string[] {
    for (const name of inputs) {
      if (name !== "" && !this.isDefined(name)) {
        throw new Error(`ONNX graph: ${opType} reads ${name}, which is not defined yet`);
      }
    }
    for (const name of outputs) this.define(name);
    const name = `${this.prefix}${opType}_${this.nodes.length}`;
    this.nodes.push(
      create(NodeProtoSchema, { name, opType, input: [...inputs], output: [...outputs], attribute: attributes }),
    );
    return [...outputs];
  }

  /** The GraphProto: for a subgraph, the value of its node's attribute (attribute.graph). */
  toGraph(name: string): GraphProto {
    return create(GraphProtoSchema, {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
  }

  /** The serialised ModelProto. */
  toBytes(info: ModelInfo): Uint8Array {
    const graph = this.toGraph(info.graphName);
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(info.irVersion),
      opsetImport: [{ domain: "", version: BigInt(info.opset) }],
      producerName: info.producerName,
      producerVersion: info.producerVersion,
      docString: info.docString,
      graph,
      metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
    });
    return toBinary(ModelProtoSchema, model);
  }

  private initializer(
    name: string,
    dims: readonly number[],
    dataType: TensorProto_DataType,
    rawData: Uint8Array,
    docString: string,
  ): string {
    this.define(name);
    this.initializers.push(
      create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType, rawData, docString }),
    );
    return name;
  }

  /** Whether `name` is a value of this graph or of a graph around it. */
  private isDefined(name: string): boolean {
    return this.defined.has(name) || (this.outer?.isDefined(name) ?? false);
  }

  private define(name: string): void {
    // ONNX forbids a subgraph to shadow a name of the graphs around it.
    if (name === "" || this.isDefined(name)) {
      throw new Error(`ONNX graph: the value name ${JSON.stringify(name)} is empty or defined twice`);
    }
    this.defined.add(name);
  }
}

/** Attribute constructors, one per ONNX attribute type this exporter writes. */
export const attribute = {
  int(name: string, value: number): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
  },
  ints(name: string, values: readonly number[]): AttributeProto {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.INTS,
      ints: values.map((v) => BigInt(v)),
    });
  },
  string(name: string, value: string): AttributeProto {
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.STRING,
      s: new TextEncoder().encode(value),
    });
  },
  graph(name: string, value: GraphProto): AttributeProto {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.GRAPH, g: value });
  },
  strings(name: string, values: readonly string[]): AttributeProto {
    const encoder = new TextEncoder();
    return create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.STRINGS,
      strings: values.map((v) => encoder.encode(v)),
    });
  },
};

function valueInfo(spec: ValueSpec): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name: spec.name,
    docString: spec.doc,
    type: {
      value: {
        case: "tensorType",
        value: {
          elemType: ELEMENT_TYPES[spec.type],
          shape: {
            dim: spec.dims.map((d) => ({
              value:
                typeof d === "number"
                  ? { case: "dimValue" as const, value: BigInt(d) }
                  : { case: "dimParam" as const, value: d },
            })),
          },
        },
      },
    },
  });
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  const size = dims.reduce((n, d) => n * d, 1);
  if (size !== length) {
    throw new Error(
      `ONNX graph: initializer ${name} of shape (${dims.join(", ")}) needs ${size} values, got ${length}`,
    );
  }
}

/** (cols, rows) = transpose of a row-major (rows, cols) matrix. */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
