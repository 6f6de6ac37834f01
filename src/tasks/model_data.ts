// Which data a saved model is evaluated or calibrated on: its recorded data by default (data/registry.ts).
import type { DataRequest } from "../data/registry.js";

/** What the user said about data for a command on a saved model. */
export interface DataChoice {
  /** Data flags given; none: the model's own recorded data. */
  data?: Partial<DataRequest>;
  /** Use only the first N images. */
  limit?: number;
  /** Accept other files of the same dataset. */
  otherData?: boolean;
}

/** The dataset assumed for models that record none (files from before mulfree 0.2, imports). */
export function fallbackDataset(inChannels: number): string {
  return inChannels === 3 ? "cifar10" : "mnist";
}
