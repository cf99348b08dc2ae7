// What differs between two walks of the same chapter, and why. `--check`
// compares the recorded output with the new one after both went through
// normalise(): each rule below replaces a varying part of a line with a
// placeholder. No rule drops a line: a line that appears or disappears is a
// difference. Add a rule here (with its reason and a test in walk.test.ts)
// rather than editing a recorded file by hand.

interface Rule {
  /** Why this part of the output varies from run to run. */
  readonly why: string;
  readonly pattern: RegExp;
  readonly replacement: string;
}

export const RULES: readonly Rule[] = [
  {
    why: 'colours and cursor moves of a terminal program are not text',
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts a terminal's colour codes
    pattern: /\x1b\[[0-9;?]*[A-Za-z]/g,
    replacement: '',
  },
  {
    why: 'BuildKit prints how long each build step took',
    pattern: /^(#\d+ .*?)\d+(\.\d+)?s$/gm,
    replacement: '$1<s>s',
  },
  {
    why: 'BuildKit shows the time of a transfer only when it took long enough to measure',
    pattern: /^(#\d+ .*?) \d+(\.\d+)?s done$/gm,
    replacement: '$1 done',
  },
  {
    why: 'a build step is CACHED or run depending on the build cache of the machine',
    pattern: /^(#\d+) (CACHED|DONE <s>s)$/gm,
    replacement: '$1 DONE',
  },
  {
    why: 'BuildKit puts the seconds since a step started before each line that the step prints',
    pattern: /^(#\d+) \d+\.\d+ /gm,
    replacement: '$1 <t> ',
  },
  {
    why: 'BuildKit numbers its steps in the order they start, which varies (they run in parallel)',
    pattern: /^#\d+ /gm,
    replacement: '#N ',
  },
  {
    why: 'the size of a build context or Dockerfile changes with every edit of the stage',
    pattern: /transferring (context|dockerfile): [\d.]+[kMG]?B/g,
    replacement: 'transferring $1: <size>',
  },
  {
    why: 'image, layer and container digests are new for every build',
    pattern: /sha256:[0-9a-f]{12,64}/g,
    replacement: 'sha256:<digest>',
  },
  {
    why: 'image and container ids (12 hex digits in `docker image ls`, `docker ps`)',
    pattern: /(?<![0-9a-z])[0-9a-f]{12}(?![0-9a-z])/g,
    replacement: '<id>',
  },
  {
    why: 'image sizes change with the dependencies and the base image',
    pattern: /(?<=\s)\d+(\.\d+)?(kB|MB|GB)(?=\s|$)/g,
    replacement: '<size>',
  },
  {
    why: '`docker compose ps` and `docker image ls` say how long ago things happened',
    pattern:
      /\b(About a minute|About an hour|Less than a second|\d+ (seconds?|minutes?|hours?)|an? (second|minute|hour)) ago\b/g,
    replacement: '<when> ago',
  },
  {
    why: 'the STATUS column of `docker compose ps` says for how long a container runs',
    pattern: /\bUp (About a minute|About an hour|Less than a second|\d+ (seconds?|minutes?|hours?))/g,
    replacement: 'Up <duration>',
  },
  {
    why: 'HTTP Date headers and timestamps in logs and database rows',
    pattern: /^Date: .*$/gm,
    replacement: 'Date: <date>',
  },
  {
    why: 'ISO-like timestamps (PostgreSQL rows and logs, JSON, Redis logs)',
    pattern: /\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?( UTC)?/g,
    replacement: '<timestamp>',
  },
  {
    why: 'PostgreSQL logs the pid of the backend after the time',
    pattern: /<timestamp> \[\d+\]/g,
    replacement: '<timestamp> [<pid>]',
  },
  {
    why: 'Redis logs start with its pid, a role letter and the time',
    pattern: /\b\d+:[CMSX] \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d+/g,
    replacement: '<pid>:<role> <timestamp>',
  },
  {
    why: '`ls -l` shows when a file was last changed (the date of the checkout)',
    pattern: /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d (\d\d:\d\d| \d{4})\b/g,
    replacement: '<mtime>',
  },
  {
    why: 'how long a request or a check took (curl -w %{time_total}, the checks, npm, jest)',
    pattern: /\b\d+(\.\d+)? ?(ms|s)\b(?=[)\s,]|$)/g,
    replacement: '<duration>',
  },
  {
    why: 'ETags are hashes of bodies that hold ids and dates',
    pattern: /ETag: W\/"[^"]*"/g,
    replacement: 'ETag: <etag>',
  },
  {
    why: 'container addresses and the ports the kernel picks for a connection or a replica',
    pattern: /\b(\d{1,3}\.){3}\d{1,3}:\d{4,5}\b/g,
    replacement: '<address>',
  },
  {
    why: 'Docker picks the subnet of a new compose network from its private pools (172.16.0.0/12, 192.168.0.0/16)',
    pattern: /\b(172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}\b/g,
    replacement: '<container-ip>',
  },
  {
    why: 'ephemeral host ports that Docker publishes for replicas without a fixed port',
    pattern: /0\.0\.0\.0:(3\d{4}|[4-6]\d{4})->/g,
    replacement: '0.0.0.0:<port>->',
  },
  {
    why: '`redis-cli client list` counts bytes, ages and ids that move with every request',
    pattern: /\b(id|fd|age|idle|qbuf|qbuf-free|argv-mem|multi-mem|rbs|rbp|obl|oll|omem|tot-mem)=\d+/g,
    replacement: '$1=<n>',
  },
  {
    why: 'psql pads a cell to the widest one in its column, whose width varies with the digits of a time',
    pattern: / +\| +/g,
    replacement: ' | ',
  },
  {
    why: 'tables align their columns to the widest cell, whose width varies with the cells above',
    pattern: / {2,}/g,
    replacement: '  ',
  },
  {
    why: 'trailing blanks are invisible and a padded table column ends with them',
    pattern: /[ \t]+$/gm,
    replacement: '',
  },
];

/**
 * compose starts containers in parallel, and BuildKit runs build steps in
 * parallel: consecutive lines of that kind come in any order. Each run of such
 * lines is sorted, so only what is in it counts, not its order.
 */
const PARALLEL = /^( (Container|Network|Volume) \S+ {2}\S|#N )/;

/**
 * An attached `up` prints the logs of all services as they come: each
 * service's lines in their order, but interleaved with the others' (and with
 * compose's own lines, `Attaching to` and the `⦿` of watch) differently every
 * time. In a run of such lines the services are put one after the other, each
 * keeping its own order; compose's own lines are sorted among themselves.
 */
const LOG = /^(\S+-\d+)( +\||\s+exited with code)|^\s*⦿|^Attaching to /;

export function normalise(text: string): string {
  let out = text;
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replacement);
  return groupLogRuns(sortParallelRuns(mergeSlowSteps(out.split('\n')))).join('\n');
}

/**
 * BuildKit prints a sub-step that takes a moment twice, when it starts
 * (`#N writing image sha256:...`) and when it is done (the same line with
 * ` done`); a quick one once, with ` done`. The two lines count as the one.
 */
function mergeSlowSteps(lines: string[]): string[] {
  return lines.filter((line, i) => !(line.startsWith('#') && lines[i + 1] === `${line} done`));
}

function groupLogRuns(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  // A service's name, or for a line of compose's own, the line itself.
  const key = (line: string) => LOG.exec(line)?.[1] ?? line.trim();
  const flush = () => {
    // Array.prototype.sort is stable: each service keeps the order of its lines.
    out.push(...run.sort((a, b) => key(a).localeCompare(key(b))));
    run = [];
  };
  for (const line of lines) {
    if (LOG.test(line)) run.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

function sortParallelRuns(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const line of lines) {
    // A blank line between BuildKit steps belongs to the run of steps.
    if (PARALLEL.test(line) || (line === '' && run.length > 0 && run[0]?.startsWith('#N '))) run.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}
