// Docker runs this inside a worker container (see `healthcheck` in compose.yaml):
// healthy while the worker's heartbeat file is fresh (see src/worker-heartbeat.ts).
import { loadWorkerConfigOrExit } from './worker-config.ts';
import { isFresh } from './worker-heartbeat.ts';

const config = loadWorkerConfigOrExit();
process.exit((await isFresh(config.heartbeatFile)) ? 0 : 1);
