// The "how to join" page: the class code and the exact command, filled in
// from the board (the code only reaches the instructor's own screen).
(async () => {
  const res = await fetch('/api/class');
  if (!res.ok) return;
  const { code, urls } = await res.json();
  const fill = { url: urls[0] ?? location.origin, code };
  document.getElementById('code').textContent = code;
  for (const span of document.querySelectorAll('[data-fill]')) span.textContent = fill[span.dataset.fill];
})();
