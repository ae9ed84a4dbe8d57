// Azure Blob Storage for the tests: Azurite's blob service, which checks the Shared Key
// signature of every request, on 127.0.0.1:PORT, data under DIR; then the given containers are
// created (with a request this script signs itself: Azurite has no option for them). Runs
// until killed; prints "ready" once the containers exist.
//
// Usage: node azurite.mjs PORT DIR CONTAINER...
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [port, dir, ...containers] = process.argv.slice(2);
const main = require.resolve('azurite/dist/src/blob/main.js');
const child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', port,
  '--location', dir, '--silent', '--skipApiVersionCheck', '--disableProductStyleUrl', '--disableTelemetry'],
{ stdio: ['ignore', 'inherit', 'inherit'] });
process.on('SIGTERM', () => { child.kill('SIGTERM'); process.exit(0); });
child.on('exit', (code) => process.exit(code ?? 1));

// Azurite's well-known development account
const account = 'devstoreaccount1';
const key = Buffer.from('Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==', 'base64');
async function createContainer(name) {
  const date = new Date().toUTCString();
  const sts = `PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:${date}\nx-ms-version:2020-10-02\n/${account}/${account}/${name}\nrestype:container`;
  const sig = createHmac('sha256', key).update(sts, 'utf8').digest('base64');
  const res = await fetch(`http://127.0.0.1:${port}/${account}/${name}?restype=container`, {
    method: 'PUT',
    headers: { 'x-ms-date': date, 'x-ms-version': '2020-10-02', Authorization: `SharedKey ${account}:${sig}` },
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating container ${name}: HTTP ${res.status} ${await res.text()}`);
}
for (let i = 0; ; i++) {
  try {
    for (const c of containers) await createContainer(c);
    break;
  } catch (e) {
    if (i > 100) { console.error(String(e)); child.kill(); process.exit(1); }
    await new Promise((r) => setTimeout(r, 200));
  }
}
console.log('ready');
