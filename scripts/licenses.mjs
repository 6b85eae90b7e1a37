// The components bundled into Incident Desk and idesk, with their licences, for the About dialog:
// every crate the app and idesk link (normal dependencies, every platform) and the npm packages the
// UI bundles. Writes src-tauri/licenses.json; with --check, fails if that file is not current.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const out = 'src-tauri/licenses.json';
const meta = JSON.parse(execFileSync('cargo', ['metadata', '--locked', '--format-version', '1'], { maxBuffer: 1 << 28 }));
const byId = new Map(meta.packages.map((p) => [p.id, p]));
const nodes = new Map(meta.resolve.nodes.map((n) => [n.id, n]));
const roots = meta.packages.filter((p) => ['incident-desk', 'idesk'].includes(p.name)).map((p) => p.id);
const seen = new Set();
const todo = [...roots];
while (todo.length) {
  const id = todo.pop();
  if (seen.has(id)) continue;
  seen.add(id);
  for (const d of nodes.get(id)?.deps ?? []) {
    if (d.dep_kinds.some((k) => k.kind === null)) todo.push(d.pkg);
  }
}
const components = [...seen]
  .map((id) => byId.get(id))
  .filter((p) => p.source) // not our own crates
  .map((p) => ({ name: p.name, version: p.version, license: p.license ?? (p.license_file ? 'see its licence file' : 'unknown') }));
// C libraries that build scripts compile into the binaries: not crates of their own in the graph.
const linked = (name) => [...seen].map((id) => byId.get(id)).find((p) => p.name === name);
const sqlite = linked('libsqlite3-sys');
if (sqlite) {
  const source = fs.readFileSync(`${sqlite.manifest_path.replace(/Cargo\.toml$/, '')}sqlcipher/sqlite3.c`, 'utf8');
  const version = /#define CIPHER_VERSION_NUMBER (\S+)/.exec(source)?.[1] ?? 'bundled';
  components.push({ name: 'SQLCipher (in libsqlite3-sys)', version, license: 'BSD-3-Clause' });
}
const opensslSys = linked('openssl-sys');
const vendored = opensslSys && nodes.get(opensslSys.id).deps.map((d) => byId.get(d.pkg)).find((p) => p.name === 'openssl-src');
if (vendored) {
  components.push({ name: 'OpenSSL (in openssl-src)', version: vendored.version.split('+')[1] ?? vendored.version, license: 'Apache-2.0' });
}
const ui = JSON.parse(fs.readFileSync('package.json', 'utf8')).dependencies;
for (const name of [...Object.keys(ui), 'svelte']) {
  const p = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, 'utf8'));
  components.push({ name: p.name, version: p.version, license: p.license ?? 'unknown' });
}
components.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
const text = `${JSON.stringify(components, null, 1)}\n`;
if (process.argv.includes('--check')) {
  if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== text) {
    console.error(`${out} is not current: run node scripts/licenses.mjs`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(out, text);
  console.log(`${out}: ${components.length} components`);
}
