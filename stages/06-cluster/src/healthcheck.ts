// Docker runs this inside the container (see `healthcheck` in compose.yaml).
// The image has no curl, but it has Node, so we ask /healthz with fetch.
const port = process.env.PORT || '8080';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
