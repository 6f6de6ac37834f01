// Node pool worker (worker_threads): the shared loop of ./worker_loop.ts.
import { parentPort, workerData } from "node:worker_threads";
import { runWorker, type WorkerInit } from "./worker_loop.js";

runWorker(workerData as WorkerInit);
parentPort?.close();
