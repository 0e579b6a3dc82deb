// Shequ metrics dashboard: every target with progress, status and forecast, a drill-down from
// city to community, and a trend chart per indicator. Vanilla JS + SVG, no dependencies.
// It polls GET /state and redraws when the projections' revision changes (a new event).

const TOKEN_KEY = "shequ.metrics.token";
const POLL_MS = 2000;
const STATUS_LABEL = {
  achieved: "achieved",
  on_track: "on track",
  at_risk: "at risk",
  missed: "missed",
};
const SVG_NS = "http://www.w3.org/2000/svg";

let token = null;
let current = null;
let revision = null;
let today = null;
let indicators = null;
let rendering = null;
let stale = false;
let previousValues = new Map();
const areaNames = new Map();

class Unauthorized extends Error {}

// -- helpers -----------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "text") {
      node.textContent = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function $(id) {
  return document.getElementById(id);
}

function format(value, unit) {
  if (value === null || value === undefined) return "–";
  if (unit === "percent") return `${value.toFixed(1)} %`;
  const text = Number.isInteger(value)
    ? value.toLocaleString("en")
    : value.toLocaleString("en", { maximumFractionDigits: 1 });
  return unit && unit !== "percent" ? `${text} ${unit}` : text;
}

function number(value, unit) {
  return format(value, unit === "percent" ? "percent" : "");
}

function unitOf(value, unit) {
  return value === null || value === undefined || !unit || unit === "percent" ? null : unit;
}

function badge(status) {
  return h("span", {
    class: "badge",
    "data-status": status || "none",
    "data-testid": "status",
    text: status ? STATUS_LABEL[status] : "contributes",
  });
}

function progressBar(progress, status) {
  const fill = h("span");
  fill.style.width = `${Math.round((progress || 0) * 100)}%`;
  return h(
    "div",
    {
      class: "bar",
      "data-status": status || "none",
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": Math.round((progress || 0) * 100),
    },
    fill,
  );
}

// -- token and API -----------------------------------------------------------------------

function takeToken() {
  const match = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, quiet = false) {
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  if (quiet && response.status === 404) throw new Error("not found");
  if (response.status === 401 || response.status === 403) {
    const problem = await response.json().catch(() => ({}));
    throw new Unauthorized(problem.detail || `${response.status}`);
  }
  if (!response.ok) throw new Error(`${response.status} for ${path}`);
  return response.json();
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("freshness").textContent = "not signed in";
}

// -- rendering ---------------------------------------------------------------------------

async function areaName(id) {
  if (areaNames.has(id)) return areaNames.get(id);
  try {
    const area = await api(`/areas/${encodeURIComponent(id)}`, true);
    areaNames.set(id, area.name);
    return area.name;
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    areaNames.set(id, null); // above the token's area: shown by id, not linked
    return null;
  }
}

async function renderBreadcrumb(area) {
  const nav = $("breadcrumb");
  const parts = [];
  for (const [index, id] of area.path.entries()) {
    const name = id === area.area_id ? area.name : await areaName(id);
    if (index) parts.push(h("span", { class: "sep", text: "›" }));
    if (id === area.area_id) parts.push(h("strong", { text: name, "aria-current": "page" }));
    else if (name === null) parts.push(h("span", { class: "muted", text: id }));
    else parts.push(h("a", { href: `?area=${encodeURIComponent(id)}`, onclick: (e) => go(e, id), text: name }));
  }
  nav.replaceChildren(...parts);
}

function go(event, id) {
  event.preventDefault();
  navigate(id, true);
}

function renderTargets(targets, area) {
  const cards = targets.map((target) => {
    const e = target.evaluation;
    const key = `${target.id}@${area.area_id}`;
    const changed = previousValues.has(key) && e && previousValues.get(key) !== e.value;
    if (e) previousValues.set(key, e.value);
    const inScope = e && e.area_id === area.area_id;
    const where = inScope ? "" : ` (${target.scope_name || target.scope_area_id})`;
    const deadlinePassed = today && target.deadline <= today;
    return h(
      "article",
      {
        class: changed ? "card flash" : "card",
        "data-testid": "target",
        "data-target-id": target.id,
        "data-status": (e && e.status) || "none",
      },
      h("h3", { text: target.name }),
      h("div", { class: "plan", text: `${target.source_plan} · deadline ${target.deadline}` }),
      h(
        "div",
        { class: "figures" },
        h(
          "span",
          {},
          h("span", { class: "value", "data-testid": "value", text: number(e && e.value, target.unit) }),
          unitOf(e && e.value, target.unit) ? h("span", { class: "unit", text: ` ${target.unit}` }) : null,
        ),
        h(
          "span",
          {},
          `target ${target.comparison} ${format(target.target_value, target.unit)}`,
          h("br"),
          badge(e && e.status),
        ),
      ),
      progressBar(e && e.progress, e && e.status),
      h("div", {
        class: "plan",
        "data-testid": "forecast",
        text:
          e && e.status
            ? `${deadlinePassed ? "Value at the deadline" : "Forecast at the deadline"}: ${format(e.forecast, target.unit)}` +
              ` · progress ${Math.round((e.progress || 0) * 100)} %${where}`
            : `Counts towards ${target.scope_name || target.scope_area_id}'s total`,
      }),
    );
  });
  $("targets").replaceChildren(
    ...(cards.length ? cards : [h("p", { class: "muted", text: "No target covers this area." })]),
  );
}

function renderDrill(drill, targets) {
  const table = $("drill");
  const children = drill.children;
  $("drill-empty").hidden = children.length > 0;
  table.hidden = children.length === 0;
  $("drill-name").textContent = drill.area.name;
  const shown = targets.filter((t) => children.some((c) => c.targets.some((x) => x.target_id === t.id)));
  table.tHead.replaceChildren(
    h("tr", {}, h("th", { text: "Area" }), ...shown.map((t) => h("th", { title: t.name, text: t.name }))),
  );
  table.tBodies[0].replaceChildren(
    ...children.map((child) => {
      const byTarget = new Map(child.targets.map((x) => [x.target_id, x]));
      return h(
        "tr",
        { "data-testid": "drill-row", "data-area-id": child.area.area_id },
        h(
          "td",
          {},
          h("button", {
            class: "link",
            type: "button",
            "data-testid": "drill-link",
            onclick: () => navigate(child.area.area_id, true),
            text: child.area.name,
          }),
          h("span", { class: "muted", text: ` ${child.area.level}` }),
        ),
        ...shown.map((t) => {
          const x = byTarget.get(t.id);
          return h(
            "td",
            { "data-target-id": t.id },
            h("span", { class: "num", text: number(x && x.value, t.unit) }),
            x && x.status ? badge(x.status) : null,
          );
        }),
      );
    }),
  );
}

function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function chart(indicator, points, start, end, target) {
  const width = 320;
  const height = 150;
  const pad = { left: 34, right: 12, top: 16, bottom: 20 };
  const t0 = Date.parse(start);
  const t1 = Math.max(Date.parse(end), t0 + 86400000);
  const values = points.map((p) => p.value).filter((v) => v !== null);
  const top = indicator.unit === "percent" ? 100 : niceCeiling(Math.max(1, target ?? 0, ...values));
  const x = (day) => pad.left + ((Date.parse(day) - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);
  let path = "";
  const known = points.filter((p) => p.value !== null);
  known.forEach((p, i) => {
    const px = x(p.day);
    const py = y(p.value);
    path += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
  });
  if (known.length) path += `H${x(end)}`;
  const last = known.length ? known[known.length - 1].value : null;
  return h(
    "figure",
    { class: "chart", "data-testid": "trend", "data-indicator-id": indicator.id },
    h("h3", { text: indicator.name }),
    s(
      "svg",
      { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${indicator.name} over time` },
      s("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0) }),
      s("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: y(0) }),
      s("text", { x: 2, y: pad.top + 4, text: format(top, indicator.unit === "percent" ? "percent" : "") }),
      s("text", { x: 2, y: y(0), text: "0" }),
      s("text", { x: pad.left, y: height - 4, text: start.slice(0, 4) }),
      s("text", { x: width - pad.right - 24, y: height - 4, text: end.slice(0, 4) }),
      target !== null && target !== undefined
        ? s("line", { class: "target", x1: pad.left, x2: width - pad.right, y1: y(target), y2: y(target) })
        : null,
      path ? s("path", { class: "series", d: path }) : null,
      s("text", {
        class: "latest",
        x: width - pad.right,
        y: pad.top - 3,
        "text-anchor": "end",
        text: format(last, indicator.unit),
      }),
    ),
    indicator.awaiting_source
      ? h("figcaption", { class: "muted", text: `Waiting for ${indicator.awaiting_source}.` })
      : null,
  );
}

async function renderTrends(area, targets) {
  if (!indicators) indicators = await api("/indicators");
  const starts = targets.map((t) => t.baseline_date).sort();
  const fallback = new Date(Date.parse(today) - 365 * 86400000).toISOString().slice(0, 10);
  const start = starts.length && starts[0] < fallback ? starts[0] : fallback;
  $("trend-start").textContent = start;
  const histories = await Promise.all(
    indicators.map((i) =>
      api(
        `/indicators/${encodeURIComponent(i.id)}/history?area=${encodeURIComponent(area.area_id)}` +
          `&from=${start}&to=${today}`,
      ),
    ),
  );
  const charts = indicators.map((indicator, index) => {
    const goal = targets.find(
      (t) => t.indicator_id === indicator.id && (!t.absolute || t.scope_area_id === area.area_id),
    );
    return chart(indicator, histories[index].points, start, today, goal ? goal.target_value : null);
  });
  $("trends").replaceChildren(...charts);
}

async function render(areaId) {
  const id = encodeURIComponent(areaId);
  const [area, targets, drill] = await Promise.all([
    api(`/areas/${id}`),
    api(`/targets?area=${id}`),
    api(`/areas/${id}/children`),
  ]);
  areaNames.set(area.area_id, area.name);
  document.title = `Shequ · ${area.name}`;
  $("area-name").textContent = area.name;
  await renderBreadcrumb(area);
  renderTargets(targets, area);
  renderDrill(drill, targets);
  await renderTrends(area, targets);
  document.body.dataset.area = area.area_id;
  document.body.dataset.rendered = String(revision);
}

async function refresh() {
  if (rendering) {
    stale = true;
    return rendering;
  }
  rendering = (async () => {
    do {
      stale = false;
      await render(current);
    } while (stale);
  })();
  try {
    await rendering;
  } finally {
    rendering = null;
  }
}

async function navigate(id, push) {
  current = id;
  if (push) history.pushState({ area: id }, "", `?area=${encodeURIComponent(id)}`);
  previousValues = new Map();
  await guarded(refresh);
}

async function poll() {
  if (!token) return;
  const state = await api("/state");
  today = state.today;
  const time = new Date().toLocaleTimeString("en-GB");
  const freshness = $("freshness");
  freshness.textContent = `${state.events_applied.toLocaleString("en")} events applied · checked ${time}`;
  freshness.dataset.revision = String(state.revision);
  if (state.revision !== revision) {
    revision = state.revision;
    if (current) await refresh();
  }
}

async function guarded(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof Unauthorized) {
      showLogin(`The token was refused: ${error.message}`);
    } else {
      $("freshness").textContent = `error: ${error.message}`;
    }
  }
}

async function rootArea() {
  const wanted = new URLSearchParams(location.search).get("area");
  if (wanted) return wanted;
  const cities = await api("/areas?level=city");
  if (cities.length) return cities[0].area_id;
  const areas = await api("/areas");
  return areas.length ? areas[0].area_id : null;
}

async function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  await guarded(async () => {
    await poll();
    current = await rootArea();
    if (!current) {
      $("targets").replaceChildren(h("p", { class: "muted", text: "No areas yet: waiting for the registry's events." }));
      return;
    }
    history.replaceState({ area: current }, "", `?area=${encodeURIComponent(current)}`);
    await refresh();
  });
}

function main() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", () => showLogin(""));
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.area) navigate(event.state.area, false);
  });
  setInterval(() => guarded(async () => {
    if (current || !token) return poll();
    return start();
  }), POLL_MS);
  token = takeToken();
  if (token) start();
  else showLogin("");
}

main();
