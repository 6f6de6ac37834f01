// TEMPORARY stand-in until the strict reader lands (wip-fuzz): same signature.
import { IoError } from "./errors.js";

export function parseJson(text: string, what: string, _options?: { maxDepth?: number }): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new IoError(`${what}: not valid JSON (${(e as Error).message.slice(0, 80)})`);
  }
}
