// Shequ metrics dashboard: the targets covering an area (value, status, progress, forecast), a
// status overview of every area below it, a drill-down table from city to community, and a
// trend chart per indicator with a period picker, hover values and CSV/PNG downloads.
// Chinese first, English switchable (remembered in localStorage). Vanilla JS + SVG, no CDN.
// It polls GET /state and redraws when the projections' revision changes (a new event).
//
// One source per figure: a card's value and the last point of its indicator's chart both come
// from GET /indicators/{id}/values for the area (today), the same computation the API answers.

import { chartPng, h, hideTooltip, saveBlob, trendChart, withTooltip } from "./chart.js";
import { DEFAULT_LANGUAGE, LANGUAGES, i18n } from "./i18n.js";

const TOKEN_KEY = "shequ.metrics.token";
const LANGUAGE_KEY = "shequ.metrics.language";
const POLL_MS = 2000;
const LEVELS = ["city", "district", "street", "community"];
const STATUSES = ["achieved", "on_track", "at_risk", "missed"];
const SEVERITY = { achieved: 1, on_track: 2, at_risk: 3, missed: 4 };
const PERIOD_YEARS = { "1y": 1, "3y": 3, "5y": 5 };

let token = null;
let current = null;
let revision = null;
let today = null;
let indicators = null;
let rendering = null;
let stale = false;
let view = null;
let previousValues = new Map();
let fmt = i18n(storedLanguage());
const areaNames = new Map();
const choices = { period: "plan", from: "", to: "", level: null, colour: "current" };

class Unauthorized extends Error {}

function $(id) {
  return document.getElementById(id);
}

const enc = encodeURIComponent;

function storedLanguage() {
  const stored = localStorage.getItem(LANGUAGE_KEY);
  return LANGUAGES.includes(stored) ? stored : DEFAULT_LANGUAGE;
}

function isoDay(time) {
  return new Date(time).toISOString().slice(0, 10);
}

function yearsBefore(day, years) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCFullYear(date.getUTCFullYear() - years);
  return isoDay(date.getTime());
}

// -- token and API -------------------------------------------------------------------------

function takeToken() {
  const match = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(history.state, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function request(path, accept) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: accept } });
  if (response.status === 401 || response.status === 403) {
    const problem = await response.json().catch(() => ({}));
    throw new Unauthorized(problem.detail || `${response.status}`);
  }
  return response;
}

async function api(path, quiet = false) {
  const response = await request(path, "application/json");
  if (quiet && response.status === 404) throw new Error("not found");
  if (!response.ok) throw new Error(`${response.status} for ${path}`);
  return response.json();
}

async function downloadCsv(path, filename) {
  const response = await request(path, "text/csv");
  if (!response.ok) throw new Error(`${response.status} for ${path}`);
  saveBlob(await response.blob(), filename);
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("freshness").textContent = fmt.t("notSignedIn");
}

// -- language ------------------------------------------------------------------------------

function applyStatic() {
  document.documentElement.lang = fmt.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = fmt.t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", fmt.t(node.dataset.i18nLabel));
  }
  const toggle = $("lang");
  toggle.textContent = fmt.t("switchLanguage");
  toggle.setAttribute("aria-label", fmt.t("switchLanguageLabel"));
  toggle.setAttribute("lang", fmt.lang === "zh-CN" ? "en" : "zh-CN");
}

function setLanguage(lang) {
  localStorage.setItem(LANGUAGE_KEY, lang);
  fmt = i18n(lang);
  applyStatic();
  hideTooltip();
  if (view) draw(view);
}

// -- small pieces --------------------------------------------------------------------------

function badge(status) {
  return h("span", {
    class: "badge",
    "data-status": status || "none",
    "data-testid": "status",
    text: status ? fmt.status(status) : fmt.t("contributesBadge"),
  });
}

function progressBar(progress, status, label) {
  const percent = Math.round((progress || 0) * 100);
  const fill = h("span");
  fill.style.width = `${percent}%`;
  return h(
    "div",
    {
      class: "bar",
      "data-status": status || "none",
      role: "progressbar",
      "aria-label": label,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": percent,
    },
    fill,
  );
}

function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", class: "small", onclick, ...attrs, text: label });
}

/** A target's title with its deadline's year, to tell a plan's targets from earlier ones. */
function targetLabel(target) {
  return `${fmt.targetName(target)}${fmt.t("deadlineYear", { year: target.deadline.slice(0, 4) })}`;
}

/** The figures behind a target's forecast, for its tooltip. */
function figures(target, evaluation, value) {
  const passed = target.deadline <= today;
  const lines = [
    fmt.t("figureBaseline", {
      value: fmt.quantity(evaluation.baseline ?? target.baseline_value, target),
      date: fmt.date(target.baseline_date),
    }),
    fmt.t("figureNow", { value: fmt.quantity(value, target), date: fmt.date(today) }),
    fmt.t(passed ? "valueAtDeadline" : "figureForecast", {
      value: fmt.quantity(evaluation.forecast, target),
      date: fmt.date(target.deadline),
    }),
    fmt.t("figureTarget", { comparison: fmt.comparison(target.comparison), value: fmt.quantity(target.target_value, target) }),
    fmt.t("figureProgress", { percent: fmt.progress(evaluation.progress) }),
  ];
  const method = evaluation.forecast_method;
  if (method) {
    lines.push(fmt.t(`method_${method}`, { from: fmt.date(evaluation.forecast_from) }));
    if (method !== "known" && evaluation.forecast_slope !== null && evaluation.forecast_slope !== undefined) {
      const unit = fmt.unit(target);
      const slope = fmt.change(evaluation.forecast_slope * 30, target.unit);
      lines.push(fmt.t("figureSlope", { slope: unit ? `${slope} ${unit}` : slope }));
    }
  } else if (!passed) {
    lines.push(fmt.t("figureMethod"));
  }
  return lines;
}

// -- loading -------------------------------------------------------------------------------

async function areaName(id) {
  if (areaNames.has(id)) return areaNames.get(id);
  try {
    const area = await api(`/areas/${enc(id)}`, true);
    areaNames.set(id, area.name);
    return area.name;
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    areaNames.set(id, null); // above the token's area: shown by id, not linked
    return null;
  }
}

function periodRange(targets) {
  const fallback = yearsBefore(today, 1);
  if (choices.period in PERIOD_YEARS) return { from: yearsBefore(today, PERIOD_YEARS[choices.period]), to: today };
  if (choices.period === "custom") {
    const from = choices.from || fallback;
    const to = choices.to || today;
    return from <= to ? { from, to } : { from: to, to: from };
  }
  const running = targets.filter((t) => t.deadline >= today);
  const plans = running.length ? running : targets;
  if (!plans.length) return { from: fallback, to: today };
  const from = plans.map((t) => t.baseline_date).sort()[0];
  const deadline = plans.map((t) => t.deadline).sort().at(-1);
  return { from, to: deadline > today ? deadline : today };
}

async function loadOverview(area, targets) {
  const below = LEVELS.slice(LEVELS.indexOf(area.level) + 1);
  if (!below.length) return { levels: [], level: null, areas: [], statuses: new Map() };
  const level = below.includes(choices.level) ? choices.level : below[below.length - 1];
  const relative = targets.filter((t) => !t.absolute);
  const [areas, details] = await Promise.all([
    api(`/areas?level=${level}`),
    Promise.all(relative.map((t) => api(`/targets/${enc(t.id)}?parent=${enc(area.area_id)}&level=${level}`))),
  ]);
  const statuses = new Map();
  for (const detail of details) {
    for (const row of detail.areas) {
      if (!statuses.has(row.area_id)) statuses.set(row.area_id, new Map());
      statuses.get(row.area_id).set(detail.id, row);
    }
  }
  return { levels: below, level, areas: areas.filter((a) => a.path.includes(area.area_id)), statuses };
}

async function load(areaId) {
  const id = enc(areaId);
  const [area, targets, drill] = await Promise.all([
    api(`/areas/${id}`),
    api(`/targets?area=${id}`),
    api(`/areas/${id}/children`),
  ]);
  areaNames.set(area.area_id, area.name);
  for (const child of drill.children) areaNames.set(child.area.area_id, child.area.name);
  for (const pathId of area.path) await areaName(pathId);
  if (!indicators) indicators = await api("/indicators");
  const range = periodRange(targets);
  const historyEnd = range.to < today ? range.to : today;
  const [histories, values, overview] = await Promise.all([
    Promise.all(
      indicators.map((i) =>
        range.from <= historyEnd
          ? api(`/indicators/${enc(i.id)}/history?area=${id}&from=${range.from}&to=${historyEnd}`)
          : { points: [] },
      ),
    ),
    Promise.all(indicators.map((i) => api(`/indicators/${enc(i.id)}/values?area=${id}`))),
    loadOverview(area, targets),
  ]);
  const now = new Map();
  indicators.forEach((indicator, index) => {
    const own = values[index].find((v) => v.area_id === area.area_id);
    now.set(indicator.id, own ? own.value : null);
  });
  const points = new Map(indicators.map((indicator, index) => [indicator.id, histories[index].points]));
  return { area, targets, drill, range, points, now, overview };
}

// -- drawing -------------------------------------------------------------------------------

function draw(v) {
  document.title = fmt.t("pageTitle", { area: v.area.name });
  $("area-name").textContent = v.area.name;
  $("area-level").textContent = fmt.level(v.area.level);
  drawBreadcrumb(v.area);
  drawDownloads(v.area);
  drawTargets(v);
  drawOverview(v);
  drawDrill(v);
  drawTrends(v);
  document.body.dataset.area = v.area.area_id;
  document.body.dataset.rendered = String(revision);
}

function drawBreadcrumb(area) {
  const parts = [];
  for (const [index, id] of area.path.entries()) {
    const name = id === area.area_id ? area.name : areaNames.get(id);
    if (index) parts.push(h("span", { class: "sep", "aria-hidden": "true", text: "›" }));
    if (id === area.area_id) parts.push(h("strong", { text: name, "aria-current": "page" }));
    else if (name === null || name === undefined) parts.push(h("span", { class: "muted", text: id }));
    else parts.push(h("a", { href: `?area=${enc(id)}`, onclick: (e) => go(e, id), text: name }));
  }
  $("breadcrumb").replaceChildren(...parts);
}

function drawDownloads(area) {
  const id = enc(area.area_id);
  const files = [
    ["downloadTargets", `/targets?area=${id}&format=csv`, `targets-${area.area_id}.csv`],
    ["downloadAreas", `/areas/${id}/children?format=csv`, `areas-below-${area.area_id}.csv`],
    ["downloadStatuses", "/export/target_status.csv", "target_status.csv"],
    ["downloadSnapshots", "/export/snapshots.csv", "snapshots.csv"],
  ];
  $("downloads").replaceChildren(
    h("span", { class: "muted", text: fmt.t("downloads") }),
    ...files.map(([key, path, filename]) =>
      button(fmt.t(key), () => guarded(() => downloadCsv(path, filename)), { "data-testid": `download-${key}` }),
    ),
  );
}

function drawTargets(v) {
  const { area, targets, now } = v;
  const card = (target) => {
    const e = target.evaluation;
    const value = now.has(target.indicator_id) ? now.get(target.indicator_id) : e && e.value;
    const key = `${target.id}@${area.area_id}`;
    const changed = previousValues.has(key) && previousValues.get(key) !== value;
    previousValues.set(key, value);
    const scope = target.scope_name || target.scope_area_id;
    const where = e && e.area_id !== area.area_id ? fmt.t("evaluatedIn", { scope }) : "";
    const passed = target.deadline <= today;
    const name = fmt.targetName(target);
    const forecast = h("div", {
      class: "plan hint",
      "data-testid": "forecast",
      text:
        e && e.status
          ? `${fmt.t(passed ? "valueAtDeadline" : "forecastAtDeadline", { value: fmt.quantity(e.forecast, target) })}` +
            ` · ${fmt.t("progress", { percent: fmt.progress(e.progress) })}${where}`
          : fmt.t("contributes", { scope }),
    });
    if (e && e.status) {
      forecast.tabIndex = 0;
      withTooltip(forecast, () => [`${fmt.t("figuresTitle")} · ${name}`, ...figures(target, e, value)]);
    }
    const unit = fmt.unit(target);
    return h(
      "article",
      {
        class: changed ? "card flash" : "card",
        "data-testid": "target",
        "data-target-id": target.id,
        "data-status": (e && e.status) || "none",
        "aria-label": name,
      },
      h("h3", { text: name, title: fmt.lang === "zh-CN" ? target.name : null }),
      h("div", { class: "plan", text: `${target.source_plan} · ${fmt.t("deadline", { date: fmt.date(target.deadline) })}` }),
      h(
        "div",
        { class: "figures" },
        h(
          "span",
          {},
          h("span", {
            class: "value",
            "data-testid": "value",
            "data-value": value ?? "",
            text: fmt.number(value, target.unit),
          }),
          unit && value !== null && value !== undefined ? h("span", { class: "unit", text: ` ${unit}` }) : null,
        ),
        h("span", { class: "goal" }, fmt.t("targetLine", { comparison: fmt.comparison(target.comparison), value: fmt.quantity(target.target_value, target) }), h("br"), badge(e && e.status)),
      ),
      progressBar(e && e.progress, e && e.status, `${name}: ${fmt.t("progress", { percent: fmt.progress(e && e.progress) })}`),
      forecast,
    );
  };
  // Running targets first (nearest deadline first), then those whose deadline has passed.
  const running = targets.filter((t) => t.deadline >= today).sort((a, b) => a.deadline.localeCompare(b.deadline));
  const passed = targets.filter((t) => t.deadline < today).sort((a, b) => b.deadline.localeCompare(a.deadline));
  const both = running.length > 0 && passed.length > 0;
  const group = (key, list) => [
    ...(list.length && both ? [h("h4", { class: "group-title", text: fmt.t(key) })] : []),
    ...(list.length ? [h("div", { class: "cards" }, list.map(card))] : []),
  ];
  const blocks = [...group("targetsRunning", running), ...group("targetsPassed", passed)];
  $("targets").replaceChildren(...(blocks.length ? blocks : [h("p", { class: "muted", text: fmt.t("noTargets") })]));
}

function worst(rows) {
  let found = null;
  for (const row of rows) {
    if (row && row.status && (!found || SEVERITY[row.status] > SEVERITY[found])) found = row.status;
  }
  return found;
}

function drawOverview(v) {
  const { overview, targets } = v;
  const section = $("overview");
  section.hidden = overview.levels.length === 0;
  if (section.hidden) return;
  const relative = targets.filter((t) => !t.absolute);
  const running = relative.filter((t) => t.deadline >= today);
  if (!["current", "all"].includes(choices.colour) && !relative.some((t) => t.id === choices.colour)) {
    choices.colour = "current";
  }
  const colouring =
    choices.colour === "all"
      ? relative
      : choices.colour === "current"
        ? running.length
          ? running
          : relative
        : relative.filter((t) => t.id === choices.colour);
  const single = !["current", "all"].includes(choices.colour) ? colouring[0] : null;

  const levelSelect = h(
    "select",
    {
      id: "overview-level",
      "data-testid": "overview-level",
      onchange: (event) => {
        choices.level = event.target.value;
        navigate(current, false);
      },
    },
    overview.levels.map((level) => h("option", { value: level, selected: level === overview.level, text: fmt.level(level) })),
  );
  const colourSelect = h(
    "select",
    {
      id: "overview-colour",
      "data-testid": "overview-colour",
      onchange: (event) => {
        choices.colour = event.target.value;
        drawOverview(view);
      },
    },
    h("option", { value: "current", selected: choices.colour === "current", text: fmt.t("colourCurrent") }),
    h("option", { value: "all", selected: choices.colour === "all", text: fmt.t("colourAll") }),
    relative.map((t) => h("option", { value: t.id, selected: choices.colour === t.id, text: targetLabel(t) })),
  );
  $("overview-controls").replaceChildren(
    h("label", { for: "overview-level", text: fmt.t("overviewLevel") }),
    levelSelect,
    h("label", { for: "overview-colour", text: fmt.t("overviewColour") }),
    colourSelect,
  );
  $("overview-legend").replaceChildren(
    ...[...STATUSES, null].map((status) =>
      h("li", {}, h("span", { class: "swatch", "data-status": status || "none", "aria-hidden": "true" }), fmt.status(status)),
    ),
  );

  const depth = v.area.path.length;
  const grouped = LEVELS.indexOf(overview.level) - LEVELS.indexOf(v.area.level) > 1;
  const groups = new Map();
  for (const area of overview.areas) {
    const key = grouped ? area.path[depth] : "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(area);
  }
  const tile = (area) => {
    const rows = overview.statuses.get(area.area_id) || new Map();
    const chosen = colouring.map((t) => rows.get(t.id));
    const status = worst(chosen);
    const counts = STATUSES.map((s) => [s, chosen.filter((r) => r && r.status === s).length]).filter(([, n]) => n);
    const detail = single
      ? fmt.quantity(chosen[0] ? chosen[0].value : null, single)
      : counts.length
        ? counts
            .reverse()
            .map(([s, n]) => fmt.t("tileCount", { status: fmt.status(s), count: fmt.number(n) }))
            .join(" · ")
        : fmt.t("tileNoTarget");
    const summary = single ? `${detail} · ${fmt.status(status)}` : detail;
    const node = h(
      "button",
      {
        type: "button",
        class: "tile",
        "data-testid": "tile",
        "data-area-id": area.area_id,
        "data-status": status || "none",
        "aria-label": fmt.t("tileLabel", { name: area.name, level: fmt.level(area.level), summary }),
        onclick: () => navigate(area.area_id, true),
      },
      h("span", { class: "tile-name", text: area.name }),
      h("span", { class: "tile-status", text: status ? fmt.status(status) : fmt.t("tileNoTarget") }),
      h("span", { class: "tile-detail", text: detail }),
    );
    withTooltip(node, () => [
      `${area.name} · ${fmt.level(area.level)}`,
      ...relative.map((t) => {
        const row = rows.get(t.id);
        return fmt.t("tileTarget", {
          name: targetLabel(t),
          value: fmt.quantity(row ? row.value : null, t),
          status: fmt.status(row && row.status),
        });
      }),
    ]);
    return h("li", {}, node);
  };
  const blocks = [...groups.entries()].map(([key, areas]) =>
    h(
      "div",
      { class: "tile-group" },
      grouped ? h("h4", { text: areaNames.get(key) || key }) : null,
      h("ul", { class: "tiles", role: "list" }, areas.map(tile)),
    ),
  );
  $("tiles").replaceChildren(...(blocks.length ? blocks : [h("p", { class: "muted", text: fmt.t("overviewEmpty") })]));
}

function drawDrill(v) {
  const { drill, targets } = v;
  const table = $("drill");
  const children = drill.children;
  $("drill-empty").hidden = children.length > 0;
  table.hidden = children.length === 0;
  const shown = targets.filter((t) => children.some((c) => c.targets.some((x) => x.target_id === t.id)));
  table.tHead.replaceChildren(
    h(
      "tr",
      {},
      h("th", { scope: "col", text: fmt.t("areaColumn") }),
      ...shown.map((t) => h("th", { scope: "col", text: targetLabel(t) })),
    ),
  );
  table.tBodies[0].replaceChildren(
    ...children.map((child) => {
      const byTarget = new Map(child.targets.map((x) => [x.target_id, x]));
      return h(
        "tr",
        { "data-testid": "drill-row", "data-area-id": child.area.area_id },
        h(
          "th",
          { scope: "row" },
          h("button", {
            class: "link",
            type: "button",
            "data-testid": "drill-link",
            onclick: () => navigate(child.area.area_id, true),
            text: child.area.name,
          }),
          h("span", { class: "muted", text: ` ${fmt.level(child.area.level)}` }),
        ),
        ...shown.map((t) => {
          const x = byTarget.get(t.id);
          return h(
            "td",
            { "data-target-id": t.id },
            h("span", { class: "num", text: fmt.quantity(x ? x.value : null, t) }),
            x && x.status ? badge(x.status) : null,
          );
        }),
      );
    }),
  );
}

function drawTrends(v) {
  const { area, targets, range, points, now } = v;
  $("period").value = choices.period;
  $("period-from").value = range.from;
  $("period-to").value = range.to;
  for (const id of ["period-from", "period-to"]) $(id).disabled = choices.period !== "custom";
  const own = (t) => !t.absolute || t.scope_area_id === area.area_id;
  const goalOf = (indicator) => {
    const mine = targets.filter((t) => t.indicator_id === indicator.id && own(t));
    return mine.find((t) => t.deadline >= today) || mine[0] || null;
  };
  const ordered = [...indicators].sort((a, b) => (goalOf(b) ? 1 : 0) - (goalOf(a) ? 1 : 0));
  const charts = ordered.map((indicator) => {
    const goal = goalOf(indicator);
    const e = goal && goal.evaluation && goal.evaluation.area_id === area.area_id ? goal.evaluation : null;
    const name = fmt.indicatorName(indicator);
    const value = now.get(indicator.id);
    const svg = trendChart({
      fmt,
      indicator,
      title: name,
      points: points.get(indicator.id),
      current: range.to >= today ? value : null,
      start: range.from,
      end: range.to,
      today,
      target: goal ? goal.target_value : null,
      forecast: e && goal.deadline > today ? { day: goal.deadline, value: e.forecast } : null,
      figures: e ? figures(goal, e, value) : [],
    });
    const history = `/indicators/${enc(indicator.id)}/history?area=${enc(area.area_id)}&from=${range.from}&to=${range.to < today ? range.to : today}&format=csv`;
    const file = `${indicator.id}-${area.area_id}`;
    return h(
      "figure",
      { class: "chart", "data-testid": "trend", "data-indicator-id": indicator.id },
      h(
        "div",
        { class: "chart-head" },
        h("h3", { text: name }),
        h(
          "div",
          { class: "actions" },
          button(fmt.t("downloadCsv"), () => guarded(() => downloadCsv(history, `${file}.csv`)), {
            "aria-label": fmt.t("downloadCsvLabel", { name }),
            "data-testid": "chart-csv",
          }),
          button(fmt.t("downloadPng"), () => guarded(async () => saveBlob(await chartPng(svg, `${name} · ${area.name}`), `${file}.png`)), {
            "aria-label": fmt.t("downloadPngLabel", { name }),
            "data-testid": "chart-png",
          }),
        ),
      ),
      svg,
      indicator.awaiting_source ? h("figcaption", { class: "muted", text: fmt.t("waitingFor", { source: indicator.awaiting_source }) }) : null,
    );
  });
  $("trends").replaceChildren(...charts);
}

// -- flow ----------------------------------------------------------------------------------

function go(event, id) {
  event.preventDefault();
  navigate(id, true);
}

async function render(areaId) {
  view = await load(areaId);
  draw(view);
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
  if (id !== current) choices.level = null;
  current = id;
  if (push) history.pushState({ area: id }, "", `?area=${enc(id)}`);
  previousValues = new Map();
  hideTooltip();
  await guarded(refresh);
}

async function poll() {
  if (!token) return;
  const state = await api("/state");
  today = state.today;
  const freshness = $("freshness");
  freshness.textContent = fmt.t("freshness", { events: fmt.number(state.events_applied), time: fmt.time(new Date()) });
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
      showLogin(fmt.t("tokenRefused", { reason: error.message }));
    } else {
      $("freshness").textContent = fmt.t("error", { reason: error.message });
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
      $("targets").replaceChildren(h("p", { class: "muted", text: fmt.t("noAreas") }));
      return;
    }
    history.replaceState({ area: current }, "", `?area=${enc(current)}`);
    await refresh();
  });
}

function main() {
  applyStatic();
  $("lang").addEventListener("click", () => setLanguage(fmt.lang === "zh-CN" ? "en" : "zh-CN"));
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", () => showLogin(""));
  $("period").addEventListener("change", (event) => {
    choices.period = event.target.value;
    if (choices.period === "custom" && view) {
      choices.from = view.range.from;
      choices.to = view.range.to;
    }
    guarded(refresh);
  });
  for (const [id, key] of [
    ["period-from", "from"],
    ["period-to", "to"],
  ]) {
    $(id).addEventListener("change", (event) => {
      if (!event.target.value) return;
      choices[key] = event.target.value;
      guarded(refresh);
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideTooltip();
  });
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.area) navigate(event.state.area, false);
  });
  setInterval(
    () =>
      guarded(async () => {
        if (current || !token) return poll();
        return start();
      }),
    POLL_MS,
  );
  token = takeToken();
  if (token) start();
  else showLogin("");
}

main();
