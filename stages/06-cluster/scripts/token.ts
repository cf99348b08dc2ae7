// The operator's side of the tokens, run on your machine, never in the cluster:
//   npm run token -- --keys                  makes secrets/: the Ed25519 key pair and the passwords
//   npm run token -- records:write           prints a token that may POST /records (1 hour)
//   npm run token -- dashboard --expires 8h  one for the dashboard
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSecrets, mintToken, SECRETS_DIR } from './keys.ts';

const args = process.argv.slice(2);
if (args.includes('--keys')) {
  const made = makeSecrets();
  console.log(made.length > 0 ? `made ${made.join(', ')} in ${SECRETS_DIR}` : `${SECRETS_DIR} is complete`);
  process.exit(0);
}
const at = args.indexOf('--expires');
const expiresIn = at >= 0 ? args[at + 1] : '1h';
const scopes = args.filter((arg, i) => !arg.startsWith('--') && !(at >= 0 && i === at + 1));
const keyFile = join(SECRETS_DIR, 'jwt-private.pem');
if (scopes.length === 0 || !existsSync(keyFile) || !expiresIn) {
  console.error(
    'usage: npm run token -- <scope...> [--expires 1h]   (scopes: records:write, dashboard)\n' +
      `       npm run token -- --keys                     (first: makes ${SECRETS_DIR})`,
  );
  process.exit(2);
}
console.log(await mintToken(readFileSync(keyFile, 'utf8'), scopes, { expiresIn }));
