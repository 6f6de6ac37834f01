// Collects the nodes of one ONNX graph or function body with unique value names. Each node's
// output takes the node's name, so a reader of the model sees "conv1" produce "conv1". Constants
// are initializers in the main graph and Constant nodes in a function body (FunctionProto has no
// initializers).
import { attr } from "./values.js";
import type { AttributeProto, NodeProto, TensorProto } from "./types.js";

export interface NodeOptions {
  /** Node and output name (made unique with a numeric suffix). Default: the op type. */
  name?: string;
  attributes?: AttributeProto[];
  domain?: string;
  overload?: string;
  doc?: string;
}

export class NodeBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly reserved: Set<string>;

  /** `reserved`: the graph's input and output names, never given to a node (rename() may use them). */
  constructor(private readonly constantsAsNodes: boolean, reserved: Iterable<string> = []) {
    this.reserved = new Set(reserved);
  }

  /** `base`, or `base_2`, `base_3`, … when taken. */
  unique(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name) || this.reserved.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Appends one node and returns its (single) output name. */
  op(opType: string, inputs: readonly string[], o: NodeOptions = {}): string {
    const name = this.unique(o.name ?? opType);
    const node: NodeProto = { name, op_type: opType, input: [...inputs], output: [name] };
    if (o.domain) node.domain = o.domain;
    if (o.overload) node.overload = o.overload;
    if (o.attributes?.length) node.attribute = o.attributes;
    if (o.doc) node.doc_string = o.doc;
    this.nodes.push(node);
    return name;
  }

  /** Renames a value everywhere it appears (e.g. the last node's output to the graph's output name). */
  rename(from: string, to: string): void {
    if (this.used.has(to)) throw new Error(`ONNX graph: the name ${to} is taken`);
    this.used.add(to);
    for (const node of this.nodes) {
      node.input = node.input.map((n) => (n === from ? to : n));
      node.output = node.output.map((n) => (n === from ? to : n));
    }
  }

  /** A constant tensor under a unique name based on `base`. */
  constant(base: string, t: TensorProto): string {
    if (this.constantsAsNodes) return this.op("Constant", [], { name: base, attributes: [attr.tensor("value", t)] });
    const name = this.unique(base);
    this.initializers.push({ ...t, name });
    return name;
  }
}
