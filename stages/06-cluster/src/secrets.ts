// Passwords and keys come from files: Docker secrets, which Swarm (and compose)
// mount at /run/secrets/<name> in the containers that ask for them. Not from
// the stack file, whose variables anyone who can run `docker inspect` reads,
// and not from the image, which every node of the cluster pulls.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config.ts';

/** The content of the file that `${name}_FILE` names, trimmed; undefined when the variable is not set. */
export function readSecretFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const path = env[`${name}_FILE`]?.trim();
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${name}_FILE names ${path}, which cannot be read (${(err as Error).message})`);
  }
}

/** `url` with the password of `${name}_FILE` in it, when that is set: redis://:<password>@redis:6379. */
export function withPasswordFrom(env: NodeJS.ProcessEnv, name: string, url: string): string {
  const password = readSecretFile(env, name);
  if (password === undefined) return url;
  const withPassword = new URL(url);
  withPassword.password = encodeURIComponent(password);
  return withPassword.toString();
}
