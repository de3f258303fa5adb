// The teacher's engagement dashboard: at-risk students with reasons, the class table,
// one student's breakdown, weights, due dates and the attendance import, all from
// /api/v1 (dashboard.js: the session, text-only page building, problems).
(function () {
  "use strict";
  const {session, base, FACTOR_NAMES, el, api, problemNode, percent, points, lastActive, factorRows, missingItems,
    showHistory} = window.MasteryDashboard;
  const root = document.getElementById("engagement");
  if (!base || !root) return;
  const PAGE_SIZE = 25;
  const AT_RISK_SHOWN = 5;  // the rest one click away: a long list hides who is first
  const state = {sort: "score", page: 1, filter: "", student: null};
  const $ = id => document.getElementById(id);

  function studentButton(row) {
    const button = el("button", {"type": "button", "class": "student-link", "data-student": row.student_id},
      row.full_name || ("Student " + row.student_id));
    button.addEventListener("click", () => openStudent(row.student_id));
    return button;
  }

  // A student never seen has no week to compare: "steady" would say they keep a pace.
  const weeklyActivity = row => row.no_activity ? "none yet" : row.trend;
  // "America/New_York" reads as "America/New York"; UTC says where it is set, since a
  // school that never chose one is counted in it.
  const zoneName = zone => zone === "UTC" ? "UTC (the school's time zone is not set)" : zone.replace(/_/g, " ");

  function bandText(row) {
    return el("span", {"class": "band band-" + row.band}, points(row.score) + " · " + row.band);
  }

  // -- at risk ---------------------------------------------------------------------------
  async function loadAtRisk() {
    const reply = await api("/engagement/at-risk");
    const section = $("at-risk");
    section.hidden = false;
    const list = $("at-risk-list");
    if (!reply.ok) return list.replaceChildren(problemNode(reply.body));
    const rows = reply.body;  // most at risk first, as the API orders them
    $("at-risk-none").hidden = rows.length > 0;
    const more = $("at-risk-more");
    more.hidden = rows.length <= AT_RISK_SHOWN;
    more.textContent = "Show all " + rows.length;
    more.onclick = () => {
      list.querySelectorAll("li[hidden]").forEach(li => { li.hidden = false; });
      more.hidden = true;
      // The button is gone: the focus goes to the first student it revealed.
      const revealed = list.children[AT_RISK_SHOWN];
      if (revealed) revealed.querySelector("button").focus();
    };
    list.replaceChildren(...rows.map((row, index) => {
      const why = el("ul", {"class": "why"});
      (row.reasons || []).forEach(reason => why.append(el("li", {}, reason.text)));
      const summary = (row.no_activity
        ? "no activity yet"
        : "risk " + percent(row.risk) + " · index " + points(row.score) + " · last active " + lastActive(row.days_since_active)) +
        (row.flagged_since ? " · flagged since " + row.flagged_since : "");
      const item = el("li", {"data-student": row.student_id}, studentButton(row), " — ", summary, why);
      item.hidden = index >= AT_RISK_SHOWN;
      return item;
    }));
  }

  // -- class table -----------------------------------------------------------------------
  // How a column's order is said: names A to Z, figures lowest or highest first.
  function orderWords(sort) {
    const key = sort.replace(/^-/, "");
    const descending = sort.startsWith("-");
    const button = root.querySelector('#class-table button[data-sort="' + key + '"]');
    const words = key === "name" ? (descending ? "Z to A" : "A to Z") : (descending ? "highest first" : "lowest first");
    return (button ? button.textContent : key) + ", " + words;
  }

  // `told`: the teacher sorted, filtered or paged, and a screen reader hears the outcome
  // (the table changes out of sight of the button pressed).
  async function loadTable(told) {
    const query = new URLSearchParams({sort: state.sort, page: state.page, per_page: PAGE_SIZE});
    if (state.filter === "at_risk") query.set("at_risk", "true");
    else if (state.filter) query.set("band", state.filter);
    const reply = await api("/engagement?" + query);
    const status = $("engagement-status");
    if (!reply.ok) {
      status.replaceChildren(problemNode(reply.body));
      return;
    }
    const table = reply.body;
    $("class").hidden = false;
    status.textContent = table.total || state.filter
      ? "As of " + table.as_of + ", days counted in " + zoneName(table.time_zone) + "."
      : "No students yet: they appear here once they open the tool from the course, or once the roster is synced.";
    const caption = table.total + (table.total === 1 ? " student" : " students") +
      (state.filter ? " shown by this filter" : "");
    $("class-caption").textContent = caption;
    const body = $("class-table").tBodies[0];
    body.replaceChildren(...table.items.map(row => el("tr", {"data-student": row.student_id},
      el("td", {}, studentButton(row)),
      el("td", {"data-label": "Index"}, bandText(row)),
      el("td", {"data-label": "Weekly activity"}, weeklyActivity(row)),
      el("td", {"data-label": "Risk"}, row.flagged ? el("span", {"class": "flag"}, percent(row.risk) + " at risk") : percent(row.risk)),
      el("td", {"data-label": "Last active"}, lastActive(row.days_since_active)))));
    const pages = Math.max(1, Math.ceil(table.total / PAGE_SIZE));
    $("class-page").textContent = "Page " + state.page + " of " + pages;
    $("class-prev").disabled = state.page <= 1;
    $("class-next").disabled = state.page >= pages;
    root.querySelectorAll("#class-table th[aria-sort]").forEach(th => {
      const key = th.querySelector("button").dataset.sort;
      th.setAttribute("aria-sort", state.sort === key ? "ascending" : state.sort === "-" + key ? "descending" : "none");
    });
    if (told) {
      $("class-announce").textContent = caption + ", sorted by " + orderWords(state.sort) +
        (pages > 1 ? ", page " + state.page + " of " + pages : "") + ".";
    }
  }

  root.querySelectorAll("#class-table th button[data-sort]").forEach(button => {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      // A second click turns the order round; the first follows the column: risk and
      // days since active highest first (who to reach), the rest lowest first.
      const first = button.dataset.first === "descending" ? "-" + key : key;
      state.sort = state.sort === key ? "-" + key : state.sort === "-" + key ? key : first;
      state.page = 1;
      loadTable(true);
    });
  });
  $("class-filter").addEventListener("change", event => {
    state.filter = event.target.value;
    state.page = 1;
    loadTable(true);
  });
  $("class-prev").addEventListener("click", () => { state.page -= 1; loadTable(true); });
  $("class-next").addEventListener("click", () => { state.page += 1; loadTable(true); });

  // -- one student -------------------------------------------------------------------------
  async function openStudent(studentId, focus = true) {
    state.student = studentId;
    if (focus) state.opener = document.activeElement;  // where Close gives the focus back
    const section = $("student");
    const [reply, past] = await Promise.all([
      api("/engagement/students/" + studentId), api("/engagement/students/" + studentId + "/history")]);
    section.hidden = false;
    showHistory($("student-history"), past, true, reply.ok ? reply.body : null);
    if (!reply.ok) {
      $("student-title").textContent = "Student " + studentId;
      $("student-summary").replaceChildren(problemNode(reply.body));
      return;
    }
    const b = reply.body;
    $("student-title").textContent = b.full_name || ("Student " + b.student_id);
    $("student-summary").textContent = "Engagement index " + points(b.score) + " (" + b.band + "); " +
      (b.no_activity ? "no activity recorded yet; " : "weekly activity " + b.trend + "; ") +
      "risk of failing or withdrawing " + percent(b.risk) + (b.flagged ? ", flagged" : "") +
      "; last active " + lastActive(b.days_since_active) + ".";
    $("student-reasons").replaceChildren(...(b.reasons || []).map(r => el("li", {}, r.text)));
    $("student-factors").tBodies[0].replaceChildren(...factorRows(b));
    const missing = missingItems(b);
    const box = $("student-missing");
    box.hidden = missing.length === 0;
    box.querySelector("ul").replaceChildren(...missing);
    if (focus) {
      section.focus();
      section.scrollIntoView({block: "start"});
    }
  }
  $("student-close").addEventListener("click", () => {
    const id = state.student;
    $("student").hidden = true;
    state.student = null;
    // Back to the button that opened it (or, if the table was redrawn since, its successor).
    const opener = state.opener && state.opener.isConnected ? state.opener
      : root.querySelector('#class-table button[data-student="' + id + '"]');
    if (opener) opener.focus();
  });

  // -- due dates ---------------------------------------------------------------------------
  const pad = n => String(n).padStart(2, "0");
  function localInput(iso) {  // an ISO instant as the value of a datetime-local input
    const d = new Date(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  async function saveDue(item, localValue) {
    const reply = await api("/engagement/graded-items", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({items: [{object_id: item.object_id, kind: item.kind, title: item.title || "",
        due_at: new Date(localValue).toISOString()}]}),
    });
    return dueChanged(reply, "Due date saved for " + (item.title || item.object_id) + ".", item.object_id);
  }

  // The list is redrawn after a change: the control that had the focus is replaced (or
  // the activity's form hidden), so the focus moves to the same control of the same item,
  // else to the first date left to edit, never back to the page's top.
  async function dueChanged(reply, message, objectId) {
    const status = $("due-status");
    if (!reply.ok) return status.replaceChildren(problemNode(reply.body));
    const focused = document.activeElement;
    const inSection = focused && $("due-dates").contains(focused);
    const role = focused && focused.dataset ? focused.dataset.role : null;
    await Promise.all([loadDueDates(), refreshScores()]);
    status.textContent = message;  // once the list shows it
    if (!inSection || (focused.isConnected && focused.offsetParent !== null)) return;
    const form = Array.from($("due-list").querySelectorAll("form")).find(f => f.dataset.object === objectId);
    const target = (form && (form.querySelector('[data-role="' + role + '"]') || form.querySelector("input"))) ||
      (!$("activity-due").hidden && $("activity-due").elements.due_at) ||
      $("due-list").querySelector("input") || $("due-title");
    target.focus();
  }

  async function loadDueDates() {
    const reply = await api("/engagement/graded-items");
    const list = $("due-list");
    if (!reply.ok) return list.replaceChildren(problemNode(reply.body));
    const items = reply.body;
    $("due-none").hidden = items.length > 0;
    list.replaceChildren(...items.map(item => {
      const form = el("form", {"data-item": item.id, "data-object": item.object_id});
      const input = el("input", {"type": "datetime-local", "required": "", "value": localInput(item.due_at),
        "aria-label": "Due date for " + (item.title || item.object_id), "data-role": "date"});
      const remove = el("button", {"type": "button", "data-role": "remove"}, "Remove");
      form.append(input, el("button", {"type": "submit", "data-role": "save"}, "Save"), remove);
      form.addEventListener("submit", event => { event.preventDefault(); saveDue(item, input.value); });
      // Removing takes a second click within a few seconds: one stray tap on a phone
      // must not drop an item every student's submission and timeliness count against.
      let armed = null;
      remove.addEventListener("click", async () => {
        if (!armed) {
          remove.textContent = "Confirm remove";
          $("due-status").textContent = "Press Confirm remove again within 5 seconds to remove " +
            (item.title || item.object_id) + " from graded work.";
          armed = setTimeout(() => { armed = null; remove.textContent = "Remove"; }, 5000);
          return;
        }
        clearTimeout(armed);
        const reply = await api("/engagement/graded-items/" + item.id, {method: "DELETE"});
        dueChanged(reply, "Removed " + (item.title || item.object_id) + " from graded work.", item.object_id);
      });
      const source = item.source === "lti" ? " (from the LMS)" : "";
      return el("li", {}, el("strong", {}, item.title || item.object_id), " · " + item.kind + source + " ", form);
    }));
    const activity = session.activity;
    const activityForm = $("activity-due");
    if (activity) {
      const known = items.find(i => i.object_id === activity.object_id && i.kind === "submission");
      activityForm.hidden = !!known;  // once dated, it is edited in the list like the rest
      $("activity-title").textContent = activity.title || "this activity";
    }
  }
  $("activity-due").addEventListener("submit", event => {
    event.preventDefault();
    const activity = session.activity;
    saveDue({object_id: activity.object_id, kind: "submission", title: activity.title}, event.target.elements.due_at.value);
  });

  // -- weights -------------------------------------------------------------------------
  async function loadWeights() {
    const reply = await api("/engagement/weights");
    const fields = $("weights-fields");
    if (!reply.ok) return fields.replaceChildren(problemNode(reply.body));
    fields.replaceChildren(...Object.keys(FACTOR_NAMES).map(factor => el("label", {},
      FACTOR_NAMES[factor] + " ",
      el("input", {"type": "number", "name": factor, "min": "0", "max": "100", "step": "1", "required": "",
        "value": reply.body.weights[factor]}))));
    const form = $("weights-form");
    form.elements.flag_at.value = Math.round(reply.body.flag_at * 100);
    showFlagLine(reply.body.flag_at);
    state.flagGap = reply.body.flag_at - reply.body.clear_below;
    const rate = reply.body.outcome_rate;
    form.elements.outcome_rate.value = rate === null ? "" : Math.round(rate * 100);
    // Left empty the model keeps the share it learned from (OULAD, distance learning).
    const learned = Math.round(reply.body.model_outcome_rate * 100);
    form.elements.outcome_rate.placeholder = String(learned);
    $("outcome-rate-help").textContent = "Likelihoods are calibrated to this share. Left " +
      "empty, they assume " + learned + " %, as in the distance-learning courses the model " +
      "learned from; in a class where fewer fail, say so and they read lower.";
    showWeightSum();
  }

  // The class table's legend says where the at-risk line is, as saved.
  function showFlagLine(flagAt) {
    $("class-flag-at").textContent = percent(flagAt) + " (set under weights below)";
  }

  function showWeightSum() {
    const inputs = Array.from($("weights-fields").querySelectorAll("input"));
    const sum = inputs.reduce((total, input) => total + (Number(input.value) || 0), 0);
    $("weights-sum").textContent = "Total: " + sum + (sum === 100 ? "" : " (must be 100)");
  }
  $("weights-fields").addEventListener("input", showWeightSum);

  $("weights-form").addEventListener("submit", async event => {
    event.preventDefault();
    const form = event.target;
    const weights = {};
    $("weights-fields").querySelectorAll("input").forEach(input => { weights[input.name] = Number(input.value); });
    const result = $("weights-result");
    const flagAt = Number(form.elements.flag_at.value) / 100;
    // A flag clears only below a lower line (so it does not flicker): keep the gap.
    const clearBelow = Math.max(0.01, Math.round((flagAt - (state.flagGap || 0)) * 100) / 100);
    const rateText = form.elements.outcome_rate.value.trim();
    const outcomeRate = rateText === "" ? null : Number(rateText) / 100;
    const reply = await api("/engagement/weights", {
      method: "PUT", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({weights: weights, flag_at: flagAt, clear_below: clearBelow,
                            outcome_rate: outcomeRate}),
    });
    if (!reply.ok) return result.replaceChildren(problemNode(reply.body));
    showFlagLine(flagAt);
    await refreshScores();
    result.textContent = "Weights saved; the index and flags are recomputed with them.";
  });

  // -- attendance --------------------------------------------------------------------------
  $("attendance-form").addEventListener("submit", async event => {
    event.preventDefault();
    const form = event.target;
    const result = $("attendance-result");
    const file = form.elements.file.files[0];
    if (!file) return;
    const data = new FormData();
    data.append("file", file);
    const statuses = form.elements.statuses.value.trim();
    const query = statuses ? "?" + new URLSearchParams({statuses: statuses}) : "";
    form.querySelector("button").disabled = true;
    result.textContent = "Importing…";
    const reply = await api("/attendance/import" + query, {method: "POST", body: data});
    form.querySelector("button").disabled = false;
    if (!reply.ok) return result.replaceChildren(problemNode(reply.body));
    await refreshScores();
    result.textContent = "Imported " + reply.body.stored + " marks: " + reply.body.changed + " new or changed.";
  });

  async function refreshScores() {
    const jobs = [loadAtRisk(), loadTable()];
    if (state.student !== null && !$("student").hidden) jobs.push(openStudent(state.student, false));
    await Promise.all(jobs);
  }

  root.dataset.ready = "loading";
  Promise.all([refreshScores(), loadDueDates(), loadWeights()]).then(() => { root.dataset.ready = "yes"; });
})();
