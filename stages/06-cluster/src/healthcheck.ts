// Docker runs this inside the container (see `healthcheck` in compose.yaml).
// The image has no curl, but it has Node, so we ask /healthz with fetch.
const port = process.env.PORT || '8080';
try {
  // 5 s for the answer: /healthz asks Redis and Postgres, which can be slow
  // on a busy laptop, where starting Node can take seconds too. compose gives
  // the whole check 10 s (`timeout: 10s`); giving up first means a clean "no".
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
