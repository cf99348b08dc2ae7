// The architecture diagram of a chapter must show the services that the
// stage's compose.yaml really runs. The rule (how to draw, so the check can read it):
//
//   1. Every chapter docs/NN-*.md has a ```mermaid flowchart.
//   2. The flowchart draws what compose runs inside a subgraph with the id `compose`
//      (the title is free): `subgraph compose [docker compose]` ... `end`.
//   3. Each node directly inside that subgraph is a service, and its id is the
//      service name from compose.yaml (the label is free: `db[(PostgreSQL)]`).
//      A subgraph directly inside `compose` counts as one service with its id
//      (draw replicas in it: `subgraph web [web × 3]` with web1, web2, web3).
//      A node whose id is a named volume of compose.yaml (`db-data`) may sit
//      there too and is not a service.
//   4. Everything outside `compose` is free: the browser, curl, the host port.
//   5. The ids inside `compose` must equal the services of stages/NN-*/compose.yaml.
//
// Note that Mermaid puts a node into the subgraph where it is first mentioned:
// draw the edge from the browser outside the subgraph.
import { readCompose } from '../lib/compose-file.ts';
import { findStage, listStages, UnknownStageError } from '../lib/stages.ts';
import { type Doc, findFences, type Problem } from './markdown.ts';

export interface DiagramServices {
  /** Whether the diagram has a `subgraph compose`. */
  readonly hasCompose: boolean;
  /** The ids of the nodes and subgraphs directly inside it. */
  readonly members: string[];
}

const KEYWORDS = /^(flowchart|graph|direction|classDef|class|style|linkStyle|click|accTitle|accDescr)\b/;
const ID = /[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*/g;

/** Removes labels, edge texts and arrows: what is left are node ids and `&`. */
function stripStatement(statement: string): string {
  let text = statement
    .replace(/"[^"]*"/g, '""')
    .replace(/@\{[^}]*\}/g, '')
    .replace(/:::[\w-]+/g, '');
  // Labels: innermost brackets first, until none are left: web["..."], db[(...)], x{{...}}.
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/\[[^[\]]*\]|\([^()]*\)|\{[^{}]*\}/g, '');
  }
  return (
    text
      // The asymmetric shape id>label]
      .replace(/([\w-])>[^\]]*\]/g, '$1')
      // Edge texts: a -- text --> b, a == text ==> b, a -. text .-> b, a -->|text| b
      .replace(/(?<![-=.<ox])(--|==)(?![->=])\s*[^-=>]*?\s*(-{2,}>|={2,}>|-{3,}|={3,})/g, ' --> ')
      .replace(/-\.(?![-.>])\s*.*?\s*\.-+>/g, ' --> ')
      .replace(/\|[^|]*\|/g, ' ')
      // Arrows and links of every kind: --> --- -.-> ==> ~~~ <--> o--o x--x
      .replace(/(?:<|(?<=\s)[ox])?(?:-{2,}|={2,}|-\.+-|~{3,})(?:>|[ox](?!\w))?/g, ' & ')
  );
}

/** The members of `subgraph compose` in a Mermaid flowchart. */
export function diagramServices(source: string): DiagramServices {
  const stack: string[] = [];
  const members = new Set<string>();
  let hasCompose = false;
  const statements = source
    .split('\n')
    .filter((line) => !line.trim().startsWith('%%'))
    .flatMap((line) => line.replace(/"[^"]*"/g, '""').split(';'))
    .map((line) => line.trim())
    .filter((line) => line !== '');

  for (const statement of statements) {
    const subgraph = /^subgraph\b(.*)$/.exec(statement);
    if (subgraph) {
      const id = stripStatement(subgraph[1] ?? '').match(ID)?.[0] ?? '';
      if (stack.at(-1) === 'compose' && id) members.add(id);
      if (id === 'compose') hasCompose = true;
      stack.push(id);
      continue;
    }
    if (statement === 'end') {
      stack.pop();
      continue;
    }
    if (KEYWORDS.test(statement) || stack.at(-1) !== 'compose') continue;
    for (const id of stripStatement(statement).match(ID) ?? []) members.add(id);
  }
  return { hasCompose, members: [...members] };
}

const CHAPTER = /^docs\/(\d\d)-[^/]+\.md$/;

export function isChapter(path: string): boolean {
  return CHAPTER.test(path);
}

/** A chapter's diagrams against the services of its stage's compose.yaml. */
export function checkMermaid(root: string, doc: Doc): Problem[] {
  const number = CHAPTER.exec(doc.path)?.[1];
  if (!number) return [];
  const problem = (line: number, message: string): Problem[] => [{ doc: doc.path, line: line + 1, message }];
  const diagrams = findFences(doc.lines).filter((fence) => fence.lang === 'mermaid');
  if (diagrams.length === 0) {
    return problem(0, 'a chapter needs a ```mermaid diagram of the services its compose.yaml runs');
  }
  let stage: ReturnType<typeof findStage>;
  try {
    stage = findStage(listStages(root), number);
  } catch (err) {
    if (!(err instanceof UnknownStageError)) throw err;
    return problem(0, `the chapter has no stage: ${err.message}`);
  }
  let compose: ReturnType<typeof readCompose>;
  try {
    compose = readCompose(stage);
  } catch (err) {
    return problem(
      0,
      `cannot read stages/${stage.name}/compose.yaml: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const expected = [...compose.services].sort();
  const problems: Problem[] = [];
  let drawn = 0;
  for (const fence of diagrams) {
    const found = diagramServices(fence.content.join('\n'));
    if (!found.hasCompose) continue;
    drawn++;
    const actual = found.members.filter((id) => !compose.volumes.includes(id)).sort();
    const missing = expected.filter((service) => !actual.includes(service));
    const extra = actual.filter((id) => !expected.includes(id));
    if (missing.length === 0 && extra.length === 0) continue;
    const parts = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      extra.length ? `not services of compose.yaml: ${extra.join(', ')}` : '',
    ].filter(Boolean);
    problems.push(
      ...problem(
        fence.open,
        `the diagram's subgraph compose draws [${actual.join(', ')}] but stages/${stage.name}/compose.yaml ` +
          `runs [${expected.join(', ')}]: ${parts.join('; ')} (node ids must be the service names; ` +
          'see the rule at the top of tools/docs/mermaid.ts)',
      ),
    );
  }
  if (drawn === 0) {
    problems.push(
      ...problem(
        diagrams[0]?.open ?? 0,
        'the ```mermaid diagram must draw the services inside `subgraph compose [docker compose]` ... `end`, ' +
          `one node per service of stages/${stage.name}/compose.yaml with the service name as its id ` +
          `(${expected.join(', ')}); see the rule at the top of tools/docs/mermaid.ts`,
      ),
    );
  }
  return problems;
}
