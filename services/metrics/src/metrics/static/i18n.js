// Every string the dashboard shows, one message table per language (Simplified Chinese first),
// and the formatters of numbers and dates in the user's locale (Intl).

export const LANGUAGES = ["zh-CN", "en"];
export const DEFAULT_LANGUAGE = "zh-CN";

export const MESSAGES = {
  "zh-CN": {
    app: "社区",
    title: "规划目标看板",
    skip: "跳到主要内容",
    pageTitle: "社区规划目标 · {area}",
    switchLanguage: "English",
    switchLanguageLabel: "Switch to English",
    breadcrumb: "区域层级",
    connecting: "正在连接…",
    notSignedIn: "未登录",
    forgetToken: "清除令牌",
    loginTitle: "打开看板",
    loginHelp:
      "请粘贴具有 metrics:read 权限的访问令牌。make dev 启动时会打印一个（export SHEQU_TOKEN=…），" +
      "也可以直接打开 /dashboard#token=<令牌>。令牌只保存在当前浏览器标签页中。",
    tokenLabel: "访问令牌",
    open: "打开",
    tokenRefused: "令牌被拒绝：{reason}",
    error: "出错：{reason}",
    freshness: "已处理 {events} 个事件 · {time} 更新",
    targetsTitle: "规划目标",
    noTargets: "没有覆盖该区域的目标。",
    targetsRunning: "进行中的目标",
    targetsPassed: "已过截止日的目标",
    noAreas: "还没有区域：正在等待登记服务的事件。",
    deadline: "截止 {date}",
    deadlineYear: "（{year} 年）",
    targetLine: "目标 {comparison} {value}",
    valueAtDeadline: "截止日实际值：{value}",
    forecastAtDeadline: "截止日预测值：{value}",
    progress: "进度 {percent}",
    evaluatedIn: "（按{scope}评估）",
    contributes: "计入{scope}的总数",
    contributesBadge: "计入总数",
    figuresTitle: "预测依据",
    figureBaseline: "基线：{value}（{date}）",
    figureNow: "当前值：{value}（{date}）",
    figureForecast: "截止日预测：{value}（{date}）",
    figureTarget: "目标：{comparison} {value}",
    figureProgress: "进度：{percent}",
    figureMethod: "预测方法：按每日数值拟合最小二乘直线，外推到截止日（数据不足时按基线到当前值的直线）",
    method_trend: "预测方法：按 {from} 以来每日数值拟合的最小二乘直线，外推到截止日",
    method_baseline_line: "预测方法：历史不足，按基线（{from}）到当前值的直线外推",
    method_current_value: "预测方法：历史不足，取当前值",
    method_known: "截止日已过：取截止日的实际值",
    figureSlope: "趋势：每 30 天 {slope}",
    status_achieved: "已完成",
    status_on_track: "进展正常",
    status_at_risk: "有风险",
    status_missed: "未完成",
    status_none: "无状态",
    level_city: "市",
    level_district: "区县",
    level_street: "街道",
    level_community: "社区",
    overviewTitle: "下辖区域状态总览",
    overviewLevel: "显示层级",
    overviewColour: "着色依据",
    colourCurrent: "当前目标（取最差状态）",
    colourAll: "全部目标（取最差状态）",
    overviewEmpty: "该区域下没有下辖区域。",
    overviewLegend: "图例",
    tileLabel: "{name}，{level}：{summary}。按回车查看",
    tileCount: "{status} {count}",
    tileNoTarget: "无适用目标",
    tileTarget: "{name}：{value} · {status}",
    drillTitle: "下辖区域明细",
    areaColumn: "区域",
    drillEmpty: "该区域下没有下辖区域。",
    trendsTitle: "趋势",
    period: "时间范围",
    period_plan: "规划期",
    period_1y: "近一年",
    period_3y: "近三年",
    period_5y: "近五年",
    period_custom: "自定义",
    from: "起始",
    to: "截止",
    downloads: "下载：",
    downloadCsv: "CSV",
    downloadPng: "PNG",
    downloadCsvLabel: "下载{name}的 CSV",
    downloadPngLabel: "下载{name}的 PNG 图片",
    downloadTargets: "目标（CSV）",
    downloadAreas: "下辖区域（CSV）",
    downloadStatuses: "全部目标状态（CSV）",
    downloadSnapshots: "全部历史数据（CSV）",
    chartLabel: "{name}的趋势图：{from}至{to}，最新值 {value}。用左右方向键查看各点",
    chartTarget: "目标 {value}",
    pointValue: "{date}：{value}",
    pointForecast: "预测 {date}：{value}",
    waitingFor: "等待 {source} 发布事件。",
    footer: "根据各部门服务发布的事件实时计算 · 状态：已完成、进展正常、有风险、未完成 · ",
    apiDocs: "API 文档",
  },
  en: {
    app: "Shequ",
    title: "plan targets",
    skip: "Skip to content",
    pageTitle: "Shequ plan targets · {area}",
    switchLanguage: "中文",
    switchLanguageLabel: "切换到中文",
    breadcrumb: "Area",
    connecting: "connecting…",
    notSignedIn: "not signed in",
    forgetToken: "Forget token",
    loginTitle: "Open the dashboard",
    loginHelp:
      "Paste a token with the metrics:read scope. make dev prints one (export SHEQU_TOKEN=…); " +
      "you can also open /dashboard#token=<token>. It is kept for this browser tab only.",
    tokenLabel: "Bearer token",
    open: "Open",
    tokenRefused: "The token was refused: {reason}",
    error: "error: {reason}",
    freshness: "{events} events applied · checked {time}",
    targetsTitle: "Targets",
    noTargets: "No target covers this area.",
    targetsRunning: "Running targets",
    targetsPassed: "Targets past their deadline",
    noAreas: "No areas yet: waiting for the registry's events.",
    deadline: "deadline {date}",
    deadlineYear: " ({year})",
    targetLine: "target {comparison} {value}",
    valueAtDeadline: "Value at the deadline: {value}",
    forecastAtDeadline: "Forecast at the deadline: {value}",
    progress: "progress {percent}",
    evaluatedIn: " ({scope})",
    contributes: "Counts towards {scope}'s total",
    contributesBadge: "contributes",
    figuresTitle: "Figures of the forecast",
    figureBaseline: "Baseline: {value} ({date})",
    figureNow: "Now: {value} ({date})",
    figureForecast: "Forecast: {value} ({date})",
    figureTarget: "Target: {comparison} {value}",
    figureProgress: "Progress: {percent}",
    figureMethod:
      "Method: least-squares line through the daily values, evaluated on the deadline " +
      "(too little history: the line from the baseline through today's value)",
    method_trend: "Method: least-squares line through the daily values since {from}, on the deadline",
    method_baseline_line: "Method: too little history; the line from the baseline ({from}) through today's value",
    method_current_value: "Method: too little history; today's value",
    method_known: "The deadline has passed: the value on it",
    figureSlope: "Trend: {slope} per 30 days",
    status_achieved: "achieved",
    status_on_track: "on track",
    status_at_risk: "at risk",
    status_missed: "missed",
    status_none: "no status",
    level_city: "city",
    level_district: "district",
    level_street: "street",
    level_community: "community",
    overviewTitle: "Status of the areas below",
    overviewLevel: "Level",
    overviewColour: "Colour by",
    colourCurrent: "current targets (worst status)",
    colourAll: "all targets (worst status)",
    overviewEmpty: "No areas below this one.",
    overviewLegend: "Legend",
    tileLabel: "{name}, {level}: {summary}. Press Enter to open",
    tileCount: "{status} {count}",
    tileNoTarget: "no target applies",
    tileTarget: "{name}: {value} · {status}",
    drillTitle: "Values of the areas below",
    areaColumn: "Area",
    drillEmpty: "No areas below this one.",
    trendsTitle: "Trends",
    period: "Period",
    period_plan: "plan period",
    period_1y: "last year",
    period_3y: "last 3 years",
    period_5y: "last 5 years",
    period_custom: "custom",
    from: "from",
    to: "to",
    downloads: "Download:",
    downloadCsv: "CSV",
    downloadPng: "PNG",
    downloadCsvLabel: "Download {name} as CSV",
    downloadPngLabel: "Download {name} as a PNG image",
    downloadTargets: "targets (CSV)",
    downloadAreas: "areas below (CSV)",
    downloadStatuses: "every target status (CSV)",
    downloadSnapshots: "all history (CSV)",
    chartLabel: "{name} from {from} to {to}, latest {value}. Arrow keys step through the points",
    chartTarget: "target {value}",
    pointValue: "{date}: {value}",
    pointForecast: "forecast {date}: {value}",
    waitingFor: "Waiting for {source}.",
    footer: "Computed live from the events every service publishes · statuses: achieved, on track, at risk, missed · ",
    apiDocs: "API",
  },
};

/** The locale of numbers and dates: Chinese, or the browser's English variant. */
export function localeOf(lang) {
  if (lang === "zh-CN") return "zh-CN";
  const english = (navigator.languages || [navigator.language]).find((l) => /^en(-|$)/i.test(l));
  return english || "en";
}

/** Messages and formatters for one language. */
export function i18n(lang) {
  const table = MESSAGES[lang] || MESSAGES[DEFAULT_LANGUAGE];
  const locale = localeOf(lang);
  const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(locale, {
    style: "percent",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const wholePercent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const day = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
  const clock = new Intl.DateTimeFormat(locale, { timeStyle: "medium" });
  const years = new Intl.DateTimeFormat(locale, { year: "numeric", timeZone: "UTC" });
  const months = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", timeZone: "UTC" });
  const t = (key, params = {}) =>
    (table[key] ?? MESSAGES.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
  return {
    lang,
    locale,
    t,
    /** A value without its unit: percentages (0–100) with one decimal, counts grouped. */
    number(value, unit) {
      if (value === null || value === undefined) return "–";
      if (unit === "percent") return percent.format(value / 100);
      return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
    },
    /** The unit label after a number in this language, or "" (percent is in the number). */
    unit(target) {
      if (!target || target.unit === "percent") return "";
      return lang === "zh-CN" ? target.unit_zh || target.unit : target.unit;
    },
    /** A value with its unit. */
    quantity(value, subject) {
      const text = this.number(value, subject.unit);
      const unit = this.unit(subject);
      return !unit || value === null || value === undefined ? text : `${text} ${unit}`;
    },
    /** A change with its sign (+1.5%, −2). */
    change(value, unit) {
      if (value === null || value === undefined) return "–";
      const text = this.number(Math.abs(value), unit);
      return `${value < 0 ? "−" : "+"}${text}`;
    },
    /** Progress 0…1 as a whole percentage. */
    progress(fraction) {
      return wholePercent.format(fraction || 0);
    },
    /** An ISO day (YYYY-MM-DD) in the locale's medium style. */
    date(iso) {
      return iso ? day.format(new Date(`${iso}T00:00:00Z`)) : "–";
    },
    /** A tick label: the year, or the month and year. */
    tick(time, monthly) {
      return (monthly ? months : years).format(new Date(time));
    },
    time(moment) {
      return clock.format(moment);
    },
    status(status) {
      return t(`status_${status || "none"}`);
    },
    /** A comparison as a mathematical sign (≥, >, ≤, <). */
    comparison(comparison) {
      return { ">=": "≥", "<=": "≤" }[comparison] || comparison;
    },
    level(level) {
      return t(`level_${level}`);
    },
    indicatorName(indicator) {
      return lang === "zh-CN" ? indicator.name_zh || indicator.name : indicator.name;
    },
    /** A target's title: Chinese names the indicator (targets have English titles only). */
    targetName(target) {
      return lang === "zh-CN" ? target.indicator_name_zh || target.name : target.name;
    },
  };
}
