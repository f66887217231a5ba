// Client-side routes over the History API. The server answers index.html
// for every non-API path, so each of these URLs can be loaded directly.

const routes = [];
let current = null;

/** Registers a page: `pattern` like "/labs/:id", `mount(root, params, query)` returns a cleanup function. */
export function route(pattern, mount) {
  const names = [];
  const regex = new RegExp("^" + pattern.replace(/:([a-z]+)/g, (_, n) => { names.push(n); return "([^/]+)"; }) + "/?$");
  routes.push({ regex, names, mount });
}

/** Goes to `path` (pushing history unless `replace`). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

function render() {
  current?.();
  current = null;
  const root = document.getElementById("app");
  root.replaceChildren();
  const query = new URLSearchParams(location.search);
  for (const { regex, names, mount } of routes) {
    const m = location.pathname.match(regex);
    if (m) {
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      current = mount(root, params, query) ?? null;
      return;
    }
  }
  current = routes.notFound?.(root) ?? null;
}

/** Starts routing: renders the current URL and follows in-app links. */
export function start(notFound) {
  routes.notFound = notFound;
  addEventListener("popstate", render);
  document.addEventListener("click", (e) => {
    const a = e.target.closest?.("a[href]");
    if (!a || a.target || a.origin !== location.origin || a.pathname.startsWith("/api/")) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
  render();
}
