// What a checkpoint stores to rebuild its model: the architecture, the op kind and their options.
export interface ModelSpec {
  model: string;
  op: string;
  inChannels: number;
  inputSize: number;
  numClasses: number;
  /** Make the first and last layers use the op kind too (default: they stay multiplicative). */
  allLayers?: boolean;
  /** Options for the op kind (e.g. weightBits for shift layers). */
  opOptions?: Record<string, unknown>;
}
