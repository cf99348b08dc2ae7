// Stage 06 asks for a token on its writes: the checks send one (TOKEN, a JWT
// with the scopes records:write and dashboard, from `npm run token`) with
// every request, and make bad ones on purpose to see each refused.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { skip } from './assert.ts';
import type { Http } from './http.ts';
import type { CheckContext } from './types.ts';

/**
 * Stage 06's own signing function (its script needs the package jose). It is
 * loaded only when a check makes a token: the check image has no packages, so
 * there the checks that need a token say they are skipped, and the others run.
 */
async function mintToken(
  ...args: Parameters<typeof import('../../../stages/06-cluster/scripts/keys.ts').mintToken>
) {
  let keys: typeof import('../../../stages/06-cluster/scripts/keys.ts');
  try {
    keys = await import('../../../stages/06-cluster/scripts/keys.ts');
  } catch {
    skip('making a token needs the repository with its packages (npm ci): run npm run check on your machine');
  }
  return keys.mintToken(...args);
}

/** `http` with `Authorization: Bearer <token>` on every request that brings no Authorization of its own. */
export function withBearer(http: Http, token: string | undefined): Http {
  if (!token) return http;
  const auth = (headers: Record<string, string> = {}) =>
    Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')
      ? headers
      : { ...headers, authorization: `Bearer ${token}` };
  const request: Http['request'] = (method, path, options = {}) =>
    http.request(method, path, { ...options, headers: auth(options.headers) });
  return {
    request,
    get: (path, options) => request('GET', path, options),
    postJson: (path, value) =>
      request('POST', path, { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } }),
  };
}

/** A token signed by the operator's key (JWT_PRIVATE_KEY_FILE); skips the check without the key. */
export async function operatorToken(
  ctx: Pick<CheckContext, 'env'>,
  scopes: string[],
  expiresIn: string | number = '10m',
): Promise<string> {
  const file = ctx.env.JWT_PRIVATE_KEY_FILE?.trim();
  if (!file) skip('JWT_PRIVATE_KEY_FILE is not set: the operator key that makes test tokens');
  return mintToken(readFileSync(file, 'utf8'), scopes, { expiresIn });
}

/** A token like ours in every claim, signed by a key the cluster does not know. */
export async function forgedToken(scopes: string[]): Promise<string> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return mintToken(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), scopes);
}
