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
/**
 * The files of the secrets in stack.yaml, made once; an existing file is kept.
 * Returns those it made. The folder is yours alone (0700). Inside it, the
 * private key is for you only (0600); what the services read is readable by
 * any user (0644), because compose mounts these files as they are into
 * containers whose programs run as another user (`node`, `redis`).
 */
export function makeSecrets(dir = SECRETS_DIR): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const write = (name: string, mode: number, content: () => string) => {
    const path = join(dir, name);
    if (existsSync(path)) return;
    writeFileSync(path, content(), { mode });
    made.push(name);
  };
  if (!existsSync(join(dir, 'jwt-private.pem'))) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    write('jwt-private.pem', 0o600, () => privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    writeFileSync(join(dir, 'jwt-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }).toString(), {
      mode: 0o644,
    });
    made.push('jwt-public.pem');
  }
  write('db-password', 0o644, () => randomBytes(18).toString('base64url'));
  write('redis-password', 0o644, () => randomBytes(18).toString('base64url'));
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
