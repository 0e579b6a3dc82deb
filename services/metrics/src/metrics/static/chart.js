// Trend charts in SVG (a step line of the recorded daily values, the target as a dashed line,
// the forecast to the deadline dotted), the shared tooltip, and PNG/CSV downloads.

const SVG_NS = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
const WIDTH = 640;
const HEIGHT = 280;
const PAD = { left: 56, right: 28, top: 36, bottom: 30 };

export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
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
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const dayTime = (iso) => Date.parse(`${iso}T00:00:00Z`);

// -- tooltip -------------------------------------------------------------------------------

/** Show the page's tooltip with ``lines`` next to a point (page coordinates) or an element. */
export function showTooltip(lines, where) {
  const tip = document.getElementById("tooltip");
  tip.replaceChildren(...lines.map((line, i) => h("div", { class: i ? "" : "tip-head", text: line })));
  tip.hidden = false;
  const box = where instanceof Element ? where.getBoundingClientRect() : null;
  const x = box ? box.left + box.width / 2 + window.scrollX : where.x;
  const y = box ? box.top + window.scrollY : where.y;
  const width = tip.offsetWidth;
  const left = Math.max(window.scrollX + 4, Math.min(x - width / 2, window.scrollX + document.documentElement.clientWidth - width - 4));
  tip.style.left = `${left}px`;
  tip.style.top = `${Math.max(window.scrollY + 4, y - tip.offsetHeight - 10)}px`;
}

export function hideTooltip() {
  document.getElementById("tooltip").hidden = true;
}

/** Attach a tooltip (hover and keyboard focus) to an element; ``lines()`` is read when shown. */
export function withTooltip(node, lines) {
  const show = () => {
    showTooltip(lines(), node);
    node.setAttribute("aria-describedby", "tooltip");
  };
  const hide = () => {
    hideTooltip();
    node.removeAttribute("aria-describedby");
  };
  node.addEventListener("mouseenter", show);
  node.addEventListener("focus", show);
  node.addEventListener("mouseleave", hide);
  node.addEventListener("blur", hide);
  node.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hide();
  });
  return node;
}

// -- scales --------------------------------------------------------------------------------

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= raw) return step * power;
  }
  return 10 * power;
}

function valueTicks(max, percent, whole) {
  if (percent) return [0, 25, 50, 75, 100];
  const step = Math.max(niceStep(Math.max(max, 1) / 4), whole ? 1 : 0);
  const ticks = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks.length > 1 ? ticks : [0, step];
}

function timeTicks(t0, t1) {
  const start = new Date(t0);
  for (const months of [1, 2, 3, 6, 12, 24, 60, 120]) {
    const ticks = [];
    let year = start.getUTCFullYear();
    let month = Math.ceil(start.getUTCMonth() / months) * months;
    if (months >= 12) {
      const every = months / 12;
      const newYear = start.getUTCMonth() === 0 && start.getUTCDate() === 1;
      year = Math.ceil((start.getUTCFullYear() + (newYear ? 0 : 1)) / every) * every;
      month = 0;
    }
    for (;;) {
      const time = Date.UTC(year + Math.floor(month / 12), month % 12, 1);
      if (time > t1) break;
      if (time >= t0) ticks.push(time);
      month += months;
    }
    if (ticks.length <= 7) return { ticks, monthly: months < 12 };
  }
  return { ticks: [t0, t1], monthly: false };
}

// -- the chart -----------------------------------------------------------------------------

/**
 * A trend chart.
 *
 * ``points`` are the recorded values ({day, value}, each holding until the next); ``current``
 * is today's value from the values API, which the last point shows (the card reads the same);
 * ``forecast`` ({day, value}) is drawn from today to the deadline; ``figures`` are extra lines
 * for the forecast's tooltip.
 */
export function trendChart({ fmt, indicator, title, points, current, start, end, today, target, forecast, figures }) {
  const t0 = dayTime(start);
  const t1 = Math.max(dayTime(end), t0 + DAY_MS);
  const series = points.filter((p) => p.day < today && p.value !== null);
  if (current !== null && current !== undefined) series.push({ day: today, value: current });
  const shownForecast = forecast && forecast.value !== null && dayTime(forecast.day) > dayTime(today) && dayTime(forecast.day) <= t1 ? forecast : null;
  const percent = indicator.unit === "percent";
  const highest = Math.max(0, target ?? 0, ...series.map((p) => p.value), shownForecast ? shownForecast.value : 0);
  const ticks = valueTicks(highest, percent, ["count", "sum"].includes(indicator.kind));
  const top = ticks[ticks.length - 1];
  const plotRight = WIDTH - PAD.right;
  const plotBottom = HEIGHT - PAD.bottom;
  const x = (time) => PAD.left + ((Math.min(Math.max(time, t0), t1) - t0) / (t1 - t0)) * (plotRight - PAD.left);
  const y = (value) => plotBottom - (value / top) * (plotBottom - PAD.top);
  const label = (value) => fmt.quantity(value, indicator);

  let path = "";
  series.forEach((p, i) => {
    const px = x(dayTime(p.day));
    path += i === 0 ? `M${px},${y(p.value)}` : `H${px}V${y(p.value)}`;
  });
  if (series.length) path += `H${x(Math.min(dayTime(today), t1))}`;

  const stops = series.map((p, i) => ({
    time: dayTime(p.day),
    text: fmt.t("pointValue", { date: fmt.date(p.day), value: label(p.value) }),
    lines: [],
    value: p.value,
    cls: i === series.length - 1 ? "point last" : "point",
  }));
  if (shownForecast) {
    stops.push({
      time: dayTime(shownForecast.day),
      text: fmt.t("pointForecast", { date: fmt.date(shownForecast.day), value: label(shownForecast.value) }),
      lines: figures || [],
      value: shownForecast.value,
      cls: "point forecast",
    });
  }

  const { ticks: times, monthly } = timeTicks(t0, t1);
  const latest = series.length ? series[series.length - 1].value : null;
  const name = title;
  const marker = s("circle", { class: "focus", r: 6, cx: -20, cy: -20 });
  const guide = s("line", { class: "guide", x1: -20, x2: -20, y1: PAD.top, y2: plotBottom });
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      tabindex: 0,
      "aria-label": fmt.t("chartLabel", { name, from: fmt.date(start), to: fmt.date(end), value: label(latest) }),
      "data-testid": "chart",
    },
    s("rect", { class: "background", x: 0, y: 0, width: WIDTH, height: HEIGHT }),
    ticks.map((v) =>
      s(
        "g",
        {},
        s("line", { class: v ? "grid" : "axis", x1: PAD.left, x2: plotRight, y1: y(v), y2: y(v) }),
        s("text", { class: "tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end", text: fmt.number(v, indicator.unit) }),
      ),
    ),
    times.map((time) =>
      s(
        "g",
        {},
        s("line", { class: "axis", x1: x(time), x2: x(time), y1: plotBottom, y2: plotBottom + 4 }),
        s("text", { class: "tick", x: x(time), y: plotBottom + 18, "text-anchor": "middle", text: fmt.tick(time, monthly) }),
      ),
    ),
    target !== null && target !== undefined
      ? s(
          "g",
          {},
          s("line", { class: "target", x1: PAD.left, x2: plotRight, y1: y(target), y2: y(target) }),
          s("text", {
            class: "target-label",
            x: PAD.left + 4,
            y: y(target) - 5,
            text: fmt.t("chartTarget", { value: label(target) }),
          }),
        )
      : null,
    path ? s("path", { class: "series", d: path }) : null,
    shownForecast && latest !== null
      ? s("line", {
          class: "forecast",
          x1: x(dayTime(today)),
          y1: y(latest),
          x2: x(dayTime(shownForecast.day)),
          y2: y(shownForecast.value),
        })
      : null,
    guide,
    stops.map((stop) =>
      s("circle", {
        class: stop.cls,
        cx: x(stop.time),
        cy: y(stop.value),
        r: stop.cls === "point" ? 2.5 : 4,
        "data-value": stop.value,
        "data-day": new Date(stop.time).toISOString().slice(0, 10),
      }),
    ),
    marker,
    s("text", {
      class: "latest",
      x: plotRight,
      y: PAD.top - 16,
      "text-anchor": "end",
      "data-testid": "latest",
      "data-value": latest ?? "",
      text: label(latest),
    }),
    s("rect", { class: "overlay", x: PAD.left - 8, y: PAD.top - 8, width: WIDTH - PAD.left + 8, height: plotBottom - PAD.top + 16 }),
  );

  let selected = -1;
  const select = (index, at) => {
    if (!stops.length) return;
    selected = Math.max(0, Math.min(stops.length - 1, index));
    const stop = stops[selected];
    const cx = x(stop.time);
    marker.setAttribute("cx", cx);
    marker.setAttribute("cy", y(stop.value));
    guide.setAttribute("x1", cx);
    guide.setAttribute("x2", cx);
    showTooltip([stop.text, ...stop.lines], at || marker);
    svg.setAttribute("aria-describedby", "tooltip");
  };
  const clear = () => {
    selected = -1;
    marker.setAttribute("cx", -20);
    guide.setAttribute("x1", -20);
    guide.setAttribute("x2", -20);
    hideTooltip();
    svg.removeAttribute("aria-describedby");
  };
  const overlay = svg.querySelector(".overlay");
  overlay.addEventListener("mousemove", (event) => {
    // The point under the cursor (within 8 units), else the value holding on its day.
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * WIDTH;
    const xs = stops.map((stop) => x(stop.time));
    let index = -1;
    let distance = Infinity;
    xs.forEach((sx, i) => {
      if (Math.abs(sx - px) < distance) [index, distance] = [i, Math.abs(sx - px)];
    });
    if (distance > 8) {
      index = -1;
      xs.forEach((sx, i) => {
        const isForecast = stops[i].cls.includes("forecast");
        if (isForecast ? px > (x(dayTime(today)) + sx) / 2 : sx <= px) index = i;
      });
    }
    if (index < 0) clear();
    else select(index);
  });
  overlay.addEventListener("mouseleave", clear);
  svg.addEventListener("focus", () => select(selected < 0 ? stops.length - 1 - (shownForecast ? 1 : 0) : selected));
  svg.addEventListener("blur", clear);
  svg.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: selected - 1, ArrowRight: selected + 1, Home: 0, End: stops.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      select(moves[event.key]);
    } else if (event.key === "Escape") {
      clear();
    }
  });
  return svg;
}

// -- downloads -----------------------------------------------------------------------------

const PAINT = ["fill", "stroke", "stroke-width", "stroke-dasharray", "font-size", "font-family", "font-weight", "opacity"];

/** The chart as a PNG (twice its size, its title above it), drawn client-side. */
export async function chartPng(svg, title) {
  const clone = svg.cloneNode(true);
  const from = svg.querySelectorAll("*");
  const to = clone.querySelectorAll("*");
  from.forEach((node, index) => {
    const style = getComputedStyle(node);
    for (const property of PAINT) to[index].setAttribute(property, style.getPropertyValue(property));
  });
  clone.querySelectorAll(".overlay, .focus, .guide").forEach((node) => node.remove());
  clone.setAttribute("xmlns", SVG_NS);
  clone.setAttribute("width", WIDTH);
  clone.setAttribute("height", HEIGHT);
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(clone))}`;
  await image.decode();
  const scale = 2;
  const head = 30;
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH * scale;
  canvas.height = (HEIGHT + head) * scale;
  const context = canvas.getContext("2d");
  context.scale(scale, scale);
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, WIDTH, HEIGHT + head);
  context.fillStyle = "#1d2430";
  context.font = `600 15px ${getComputedStyle(document.body).fontFamily}`;
  context.fillText(title, 12, 21);
  context.drawImage(image, 0, head, WIDTH, HEIGHT);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG failed"))), "image/png"),
  );
}

/** Offer a blob as a file download. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
