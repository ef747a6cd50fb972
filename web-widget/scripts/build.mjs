// Builds dist/ deterministically: embed.js (host page), widget.js + widget.css + widget.html (iframe),
// console.js + console.css + console.html (the counsellor's shift console).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const common = { bundle: true, minify: true, platform: 'browser', target: 'es2022', legalComments: 'none', charset: 'utf8', logLevel: 'warning' };
rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({ ...common, entryPoints: ['src/embed.ts'], outfile: 'dist/embed.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/widget/main.ts'], outfile: 'dist/widget.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/widget/widget.css'], outfile: 'dist/widget.css' });
copyFileSync('src/widget/widget.html', 'dist/widget.html');
await build({ ...common, entryPoints: ['src/console/main.ts'], outfile: 'dist/console.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/console/console.css'], outfile: 'dist/console.css' });
copyFileSync('src/console/console.html', 'dist/console.html');

// Supervisor dashboard (issue #5): /dashboard/ serves dashboard.html, dashboard.js, dashboard.css.
await build({ ...common, entryPoints: ['src/dashboard/main.ts'], outfile: 'dist/dashboard.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/dashboard/dashboard.css'], outfile: 'dist/dashboard.css' });
copyFileSync('src/dashboard/dashboard.html', 'dist/dashboard.html');
