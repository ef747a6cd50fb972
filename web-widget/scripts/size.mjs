// Prints the size and gzipped size of every file in dist/, and fails if widget.js exceeds its budget.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = { 'widget.js': 60 * 1024 };
let over = false;
for (const name of readdirSync('dist').sort()) {
  const bytes = readFileSync(`dist/${name}`);
  const gz = gzipSync(bytes, { level: 9 }).length;
  const budget = BUDGET[name];
  const note = budget === undefined ? '' : gz <= budget ? `  (budget ${budget / 1024} KB: ok)` : `  (OVER budget ${budget / 1024} KB)`;
  if (budget !== undefined && gz > budget) over = true;
  console.log(`${name.padEnd(12)} ${String(bytes.length).padStart(8)} B  ${(gz / 1024).toFixed(1).padStart(6)} KB gzipped${note}`);
}
process.exit(over ? 1 : 0);
