// The board page: draws the board it gets from /api/events (Server-Sent
// Events) each time it changes, without reloading. Every name is set as text
// (textContent), never parsed as HTML.
const OLD_MS = 15 * 60_000;
const SHOWN_FAILING = 2;
let last; // the latest board, and how far this screen's clock is from the board's
let skew = 0;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() + skew - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

function cellOf(cell) {
  if (!cell) return el('td', '—', 'none');
  const failed = !cell.answering || cell.passed < cell.total;
  const td = el('td', undefined, failed ? 'fail' : 'pass');
  if (Date.now() + skew - cell.reportedAt > OLD_MS) td.classList.add('old');
  const verdict = cell.answering ? `${cell.passed}/${cell.total}` : 'nothing answers';
  td.append(el('div', `${failed ? '✗' : '✓'} ${verdict}`, 'verdict'));
  if (cell.failing.length > 0) {
    const list = el('ul', undefined, 'failing');
    // A few names, so that one attendee's row does not fill the screen.
    for (const name of cell.failing.slice(0, SHOWN_FAILING)) list.append(el('li', name));
    if (cell.failing.length > SHOWN_FAILING)
      list.append(el('li', `and ${cell.failing.length - SHOWN_FAILING} more`));
    td.append(list);
  }
  td.append(el('div', ago(cell.reportedAt), 'age'));
  return td;
}

function render(board) {
  last = board;
  const head = document.querySelector('#board thead tr');
  head.replaceChildren(el('th', 'Attendee'), ...board.stages.map((stage) => el('th', stage)));
  const rows = board.rows.map((row) => {
    const tr = el('tr');
    const name = el('th', row.name, 'name');
    name.scope = 'row';
    if (row.stuckSince !== null)
      name.append(el('span', `stuck for ${ago(row.stuckSince).replace(' ago', '')}`, 'stuck'));
    tr.append(name, ...board.stages.map((stage) => cellOf(row.cells[stage])));
    return tr;
  });
  document.querySelector('#board tbody').replaceChildren(...rows);
  document.getElementById('empty').hidden = board.rows.length > 0;
}

function connect() {
  const live = document.getElementById('live');
  const events = new EventSource('/api/events');
  events.addEventListener('board', (event) => {
    const board = JSON.parse(event.data);
    skew = board.now - Date.now();
    render(board);
  });
  events.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
  };
  // EventSource reconnects by itself (a restarted board comes back on its own).
  events.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live';
  };
}

async function showJoin() {
  const res = await fetch('/api/class');
  if (!res.ok) return; // the code shows on the instructor's own screen only
  const { code, urls } = await res.json();
  const join = document.getElementById('join');
  join.append(
    'Join: ',
    el('code', `npm run check -- NN --report ${urls[0] ?? location.origin} --code ${code} --as NAME`),
  );
  join.hidden = false;
}

connect();
showJoin();
// Ages move on between reports.
setInterval(() => last && render(last), 5000);
