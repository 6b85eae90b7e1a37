// The sandbox IdP alone, for the core's tests: prints `READY issuer=<url> client_id=<id> app_client_id=<id> app_client_secret=<s>
// app_cert_client_id=<id> app_certificate=<PEM file>`.
import { startIdp } from './server.mjs';

const idp = await startIdp({ log: process.env.SANDBOX_IDP_QUIET ? () => {} : undefined });
console.log(`READY issuer=${idp.issuer} client_id=${idp.clientId} app_client_id=${idp.appClientId} app_client_secret=${idp.appClientSecret} app_cert_client_id=${idp.appCertClientId} app_certificate=${idp.appCertificate}`);
const stop = () => idp.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop); // the test that started us is gone
process.stdin.resume();
