// The "how to join" page: the class code and the exact command, filled in
// from the board (the code only reaches the instructor's own screen).
(async () => {
  const res = await fetch('/api/class');
  if (!res.ok) return;
  const { code, urls } = await res.json();
  const url = urls[0] ?? location.origin;
  document.getElementById('code').textContent = code;
  for (const id of ['command', 'docker']) {
    const pre = document.getElementById(id);
    pre.textContent = pre.textContent.replace('URL', url).replace('CODE', code);
  }
})();
