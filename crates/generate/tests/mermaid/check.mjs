// Usage: node check.mjs FILE.md: parse every ```mermaid block with Mermaid's parser (in a jsdom
// window, as in a browser); print one line per failing diagram; exit 1 when any fails or none.
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const text = readFileSync(process.argv[2], 'utf8');
const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(m => m[1]);
let failed = 0;
for (const [i, b] of blocks.entries()) {
  try { await mermaid.parse(b); } catch (e) { failed++; console.error(`diagram ${i + 1}: ${e.message ?? e}`); }
}
console.log(`${blocks.length} diagram(s), ${failed} failed`);
process.exit(failed || blocks.length === 0 ? 1 : 0);
