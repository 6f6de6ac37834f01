// Shared test helpers: seeded random data and finite-difference gradient checks.
import { Rng, uniform } from "../src/tensor/random.js";
import { Parameter, Tensor } from "../src/tensor/tensor.js";
import { backward } from "../src/tensor/autograd.js";
import { scope } from "../src/tensor/storage.js";

export function randomParam(shape: number[], rng: Rng, scale = 1): Parameter {
  const p = Parameter.create(shape);
  for (let i = 0; i < p.size; i++) p.data[i] = uniform(rng, -scale, scale);
  return p;
}

/**
 * Check d(Σ r·f(inputs))/d(input) from autograd against central differences, for every element of
 * every input. `f` must be deterministic given the inputs' data.
 */
export function checkGradients(f: () => Tensor, inputs: Parameter[], rng: Rng, opts: { h?: number; tol?: number } = {}): void {
  const h = opts.h ?? 1e-2;
  const tol = opts.tol ?? 1e-2;
  let weights: Float64Array | null = null;
  const objective = (): number =>
    scope(() => {
      const y = f();
      if (!weights) weights = Float64Array.from({ length: y.size }, () => uniform(rng, -1, 1));
      let s = 0;
      for (let i = 0; i < y.size; i++) s += weights[i] * y.data[i];
      return s;
    });
  objective(); // fix the random weights
  for (const p of inputs) p.grad?.fill(0);
  scope(() => {
    const y = f();
    backward(y, Float32Array.from(weights!));
  });
  for (const p of inputs) {
    const analytic = Float64Array.from(p.grad!);
    for (let i = 0; i < p.size; i++) {
      const orig = p.data[i];
      p.data[i] = orig + h;
      const up = objective();
      p.data[i] = orig - h;
      const down = objective();
      p.data[i] = orig;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(numeric - analytic[i]);
      if (err > tol * (1 + Math.abs(numeric))) {
        throw new Error(`gradient mismatch at element ${i} of a [${p.shape.join(",")}] input: autograd ${analytic[i]}, finite difference ${numeric}`);
      }
    }
  }
}
