// The operator's keys and tokens (scripts/token.ts is the command): made on
// your machine, never in the cluster. The private key stays in secrets/ here;
// the cluster gets only the public key, as a Docker secret.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';

/** secrets/ of the stage, or SECRETS_DIR (as stack.yaml reads it). */
export const SECRETS_DIR = process.env.SECRETS_DIR || join(import.meta.dirname, '..', 'secrets');
/** What the services expect (JWT_ISSUER, JWT_AUDIENCE in stack.yaml). */
export const ISSUER = 'workshop-operator';
export const AUDIENCE = 'workshop';

// #region keys
/** The files of the secrets in stack.yaml, made once; an existing file is kept. Returns those it made. */
export function makeSecrets(dir = SECRETS_DIR): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const write = (name: string, content: () => string) => {
    const path = join(dir, name);
    if (existsSync(path)) return;
    writeFileSync(path, content(), { mode: 0o600 });
    made.push(name);
  };
  if (!existsSync(join(dir, 'jwt-private.pem'))) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    write('jwt-private.pem', () => privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    writeFileSync(join(dir, 'jwt-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }).toString());
    made.push('jwt-public.pem');
  }
  write('db-password', () => randomBytes(18).toString('base64url'));
  write('redis-password', () => randomBytes(18).toString('base64url'));
  return made;
}
// #endregion keys

// #region mint
/** A JWT for `scopes`, signed with the private key (PEM): iss, aud, exp, and the scope. */
export async function mintToken(
  privateKeyPem: string,
  scopes: readonly string[],
  { expiresIn = '1h' as string | number, issuer = ISSUER, audience = AUDIENCE, subject = 'operator' } = {},
): Promise<string> {
  const key = await importPKCS8(privateKeyPem, 'EdDSA');
  return new SignJWT({ scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'EdDSA' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}
// #endregion mint
