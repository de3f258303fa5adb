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

  async function api(path, options) {
    const init = Object.assign({}, options || {});
    init.headers = Object.assign({"Authorization": session.authorization}, init.headers || {});
    let reply;
    try {
      reply = await fetch(base + path, init);
    } catch (error) {
      return {ok: false, status: 0, body: {detail: "The tool cannot be reached; check your connection and try again."}};
    }
    const body = reply.status === 204 ? null : await reply.json().catch(() => null);
    if (reply.status === 401) {
      return {ok: false, status: 401, body: {detail: "Your session has expired: open the tool again from your course."}};
    }
    return {ok: reply.ok, status: reply.status, body: body};
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

  function missingItems(breakdown) {
    return (breakdown.missing_work || []).map(m => el("li", {}, (m.title || m.object_id) + ", due " + m.due_date));
  }

  return {session, base, FACTOR_NAMES, el, api, problemNode, percent, points, lastActive, factorRows, missingItems};
})();
