// What `npm run check --report` sends to the class board, and all it sends:
// the check command writes it, the board reads it (board/validate.ts).

export type Verdict = 'passed' | 'failed' | 'skipped';

export interface CheckVerdict {
  readonly id: string;
  readonly verdict: Verdict;
  readonly ms: number;
}

/** What an attendee's check sends: nothing else from their machine. */
export interface Report {
  readonly stage: string;
  readonly version: string;
  /** Empty when nothing answered on the stage's URL. */
  readonly checks: readonly CheckVerdict[];
}
