// Starts the sandbox tenant — the identity provider and the incident API — on loopback, and once
// both are ready prints the one line that scripts and tests read:
//   SANDBOX issuer=<url> graph=<url> defender=<url> tenant=<id> client_id=<id> app_client_id=<id> app_client_secret=<secret>
//     app_cert_client_id=<id> app_certificate=<PEM file: the certificate app's key and certificate>
// Runs in the foreground until interrupted. Env: SANDBOX_TENANT (the tenant ID), SANDBOX_INCIDENTS, SANDBOX_SEED (data set),
// SANDBOX_LIVE (one change every N seconds), SANDBOX_IDP_PORT, SANDBOX_API_PORT (default:
// ephemeral), SANDBOX_STATE_DIR (persist the IdP),
// SANDBOX_API_BIN (the API server binary), SANDBOX_EXIT_WITH_STDIN=1 (stop when standard input
// closes: a test harness that holds it stops the sandbox even if the harness itself dies).
// The API server stops with this process, however it ends: it watches the pipe of its stdin.
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startIdp } from './idp/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const apiBin = process.env.SANDBOX_API_BIN ?? path.join(root, 'target', 'debug', 'sandbox-api');

async function main() {
  const idp = await startIdp({ port: Number(process.env.SANDBOX_IDP_PORT ?? 0), ...(process.env.SANDBOX_TENANT ? { tenant: process.env.SANDBOX_TENANT } : {}) });
  // Each step says so in the log, so a start that hangs shows where.
  console.error(`[sandbox] identity provider at ${idp.issuer}; starting the incident API`);
  const api = spawn(apiBin, ['--issuer', idp.issuer, '--port', String(process.env.SANDBOX_API_PORT ?? 0), '--exit-with-stdin'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = async (code) => {
    api.kill('SIGTERM');
    await idp.close();
    process.exit(code);
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  if (process.env.SANDBOX_EXIT_WITH_STDIN === '1') {
    process.stdin.on('end', () => stop(0));
    process.stdin.resume();
  }
  api.on('exit', (code) => { console.error(`[sandbox] the API server exited (${code})`); stop(1); });
  const lines = readline.createInterface({ input: api.stdout });
  for await (const line of lines) {
    const m = /^LISTENING (\S+)/.exec(line);
    if (!m) continue;
    const base = m[1];
    console.log(`SANDBOX issuer=${idp.issuer} graph=${base}/v1.0 defender=${base} tenant=${idp.tenant} client_id=${idp.clientId} app_client_id=${idp.appClientId} app_client_secret=${idp.appClientSecret} app_cert_client_id=${idp.appCertClientId} app_certificate=${idp.appCertificate}`);
  }
}

main().catch((e) => { console.error('[sandbox] failed to start:', e.message); process.exit(1); });
