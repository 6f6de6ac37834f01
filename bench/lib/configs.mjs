// mulfree's side of train.mjs and infer.mjs: one measurement per (threads, batch), in that order,
// each after a quiet wait. After the first failure (e.g. "not wired yet") the rest are marked with
// the same error without waiting, so a broken build costs one attempt, not one per configuration.

/** Rows {runtime: 'mulfree', threads, batch, ...result} or {…, error}. */
export async function measureMulfreeConfigs(threadsList, batches, quiet, measure) {
  const rows = [];
  let failed = null;
  for (const threads of threadsList) for (const batch of batches) {
    if (!failed) {
      await quiet();
      try { rows.push({ runtime: 'mulfree', threads, batch, ...(await measure(batch, threads)) }); continue; }
      catch (e) { failed = e.message; if (failed !== 'not wired yet') console.error(e.stack ?? e); }
    }
    rows.push({ runtime: 'mulfree', threads, batch, error: failed });
  }
  return rows;
}
