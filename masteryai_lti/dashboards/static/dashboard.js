// What every dashboard shares: the API with the launch's session token (window.masteryai,
// see lti/session_script.html), building the page from text only (names and texts come
// from the LMS and are never set as HTML), a problem+json body shown as text, and the
// breakdown of a student's index factor by factor.
window.MasteryDashboard = (function () {
  "use strict";
  const session = window.masteryai;
  const base = session && session.course_id ? "/api/v1/courses/" + session.course_id : null;
  const FACTOR_NAMES = {
    attendance: "Attendance", submission: "Work handed in", quiz: "Quizzes",
    interaction: "Interaction", timeliness: "On time", resource: "Materials opened",
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
    children.forEach(child => node.append(child));
    return node;
  }

  // `options.asFile`: a successful reply comes back as a Blob with its headers (a
  // download); a failed one as any other, its problem in `body`.
  async function api(path, options) {
    const {asFile, ...init} = options || {};
    init.headers = Object.assign({"Authorization": session.authorization}, init.headers || {});
    let reply;
    try {
      reply = await fetch(base + path, init);
    } catch (error) {
      return {ok: false, status: 0, body: {detail: "The tool cannot be reached; check your connection and try again."}};
    }
    if (reply.status === 401) {
      return {ok: false, status: 401, body: {detail: "Your session has expired: open the tool again from your course."}};
    }
    if (asFile && reply.ok) {
      return {ok: true, status: reply.status, blob: await reply.blob(), headers: reply.headers};
    }
    const body = reply.status === 204 ? null : await reply.json().catch(() => null);
    return {ok: reply.ok, status: reply.status, body: body};
  }

  // The options of a request sending `body` as JSON.
  function json(method, body) {
    return {method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  }

  // A problem+json body as text: what was wrong, then each field's message.
  function problemNode(body) {
    const box = el("div", {"class": "problem"});
    box.append(el("p", {}, (body && (body.detail || body.title)) || "Something went wrong."));
    const errors = (body && body.errors) || [];
    if (errors.length) {
      const list = el("ul", {});
      errors.slice(0, 20).forEach(e => list.append(el("li", {}, (e.path ? e.path + ": " : "") + e.message)));
      if (errors.length > 20) list.append(el("li", {}, "… and " + (errors.length - 20) + " more"));
      box.append(list);
    }
    return box;
  }

  const percent = value => Math.round(value * 100) + " %";
  const points = value => (Math.round(value * 10) / 10).toString();

  function lastActive(days) {
    if (days === null || days === undefined) return "never";
    if (days === 0) return "today";
    return days === 1 ? "yesterday" : days + " days ago";
  }

  // One table row per factor: its name, the student against the class median, points.
  function factorRows(breakdown) {
    return (breakdown.factors || []).map(f => el("tr", {"data-factor": f.factor},
      el("th", {"scope": "row"}, FACTOR_NAMES[f.factor] || f.factor),
      el("td", {}, f.reason),
      el("td", {}, f.weight > 0 ? points(f.contribution) + " of " + points(f.weight) : "not counted")));
  }

  // An ISO instant in the reader's own time zone, "2026-12-04 20:00": a due date
  // shown as the UTC day would be the next day for a teacher in the Americas.
  function localTime(iso) {
    const d = new Date(iso);
    const pad = n => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function missingItems(breakdown) {
    return (breakdown.missing_work || []).map(m => el("li", {},
      (m.title || m.object_id) + ", due " + (m.due_at ? localTime(m.due_at) : m.due_date)));
  }

  // A student's index day by day (one snapshot a day from the periodic recompute), over
  // the last HISTORY_DAYS days: a sentence, and a line from 0 to 100 whose accessible
  // name is that sentence. With `flags` (the teacher's view) the days the student was
  // flagged are dots and the sentence counts them; a student's own view has neither.
  const HISTORY_DAYS = 56;
  const DAY_MS = 86400000;
  const SVG_NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.entries(attrs).forEach(([key, value]) => node.setAttribute(key, value));
    return node;
  }

  // `current` (the breakdown shown above, or null) stands for today: snapshots are
  // written by the nightly recompute, so today's may be missing or older than a
  // change of weights or a new event, and the line must not contradict the figures.
  function history(snapshots, flags, current) {
    const day = date => Date.parse(date + "T00:00:00Z") / DAY_MS;
    let all = snapshots || [];
    if (current) {
      const today = new Date().toISOString().slice(0, 10);
      all = all.filter(s => s.date !== today).concat(
        [{date: today, score: current.score, flagged: Boolean(current.flagged)}]);
    }
    const last = all.length ? day(all[all.length - 1].date) : 0;
    const shown = all.filter(s => day(s.date) > last - HISTORY_DAYS);
    if (shown.length === 0) {
      return {summary: "No history yet: the index is recorded once a day.", chart: null};
    }
    const first = shown[0], latest = shown[shown.length - 1];
    let summary = (flags ? "Index " : "Your index: ") + points(first.score) + " on " + first.date;
    if (shown.length > 1) {
      const lowest = Math.min(...shown.map(s => s.score));
      summary += ", " + points(latest.score) + " on " + latest.date + " (lowest " + points(lowest) + ")";
    }
    if (flags) {
      const flagged = shown.filter(s => s.flagged);
      summary += flagged.length
        ? "; flagged on " + flagged.length + " of " + shown.length + " days, last on " + flagged[flagged.length - 1].date
        : "; not flagged on any of these " + shown.length + " days";
    }
    summary += ".";
    const width = 300, height = 80, pad = 4;
    const span = Math.max(1, last - day(first.date));
    const x = s => pad + (day(s.date) - day(first.date)) / span * (width - 2 * pad);
    const level = score => pad + (100 - score) / 100 * (height - 2 * pad);
    const y = s => level(s.score);
    const chart = svg("svg", {"viewBox": "0 0 " + width + " " + height, "class": "history", "role": "img",
      "aria-label": summary});
    [0, 50, 100].forEach(score => chart.append(svg("line", {"class": "grid", "x1": 0, "x2": width,
      "y1": level(score), "y2": level(score)})));
    chart.append(svg("polyline", {"class": "index", "points": shown.map(s => x(s) + "," + y(s)).join(" ")}));
    // The latest day always has a mark: with a single snapshot there is no line to see.
    chart.append(svg("circle", {"class": "latest", "cx": x(latest), "cy": y(latest), "r": 2.5}));
    shown.filter(s => flags && s.flagged).forEach(s =>
      chart.append(svg("circle", {"class": "flagged", "cx": x(s), "cy": y(s), "r": 4.5})));
    return {summary, chart};
  }

  // The history reply shown in `box` (a block with a .history-summary): the sentence,
  // then the chart and its legend; `current` as in history().
  function showHistory(box, reply, flags, current) {
    const text = box.querySelector(".history-summary");
    box.querySelectorAll("svg, .legend").forEach(node => node.remove());
    if (!reply.ok) return text.replaceChildren(problemNode(reply.body));
    const {summary, chart} = history(reply.body, flags, current);
    text.textContent = summary;
    if (!chart) return;
    const legend = flags
      ? "Line: the index, 0 to 100, one point a day; dot: the latest day. Red rings: days flagged at risk."
      : "Line: your index, 0 to 100, one point a day.";
    text.after(chart, el("p", {"class": "muted legend"}, legend));
  }

  return {session, base, FACTOR_NAMES, el, api, json, problemNode, percent, points, lastActive, factorRows, missingItems,
    showHistory, localTime};
})();
