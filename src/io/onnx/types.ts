// Plain-object mirror of the onnx.proto subset in schema.ts (same snake_case field names), what
// the model builder produces and the codec encodes or returns after decoding.

/** TensorProto.DataType values mulfree uses. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** AttributeProto.AttributeType values mulfree uses. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorProto {
  name?: string;
  dims: number[];
  data_type: number;
  /** Little-endian element bytes. */
  raw_data?: Uint8Array;
  doc_string?: string;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  doc_string?: string;
}

export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  /** Picks one of several FunctionProtos with the same domain and name (IR version 10). */
  overload?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface Dimension {
  dim_value?: number;
  dim_param?: string;
}

export interface ValueInfoProto {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Dimension[] } } };
  doc_string?: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: number;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

export interface FunctionProto {
  name: string;
  domain: string;
  overload?: string;
  input: string[];
  output: string[];
  node: NodeProto[];
  opset_import: OperatorSetIdProto[];
  doc_string?: string;
}

export interface ModelProto {
  ir_version: number;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph: GraphProto;
  metadata_props?: Array<{ key: string; value: string }>;
  functions?: FunctionProto[];
}
