// A student's own engagement (dashboard.js: the session, text-only page building):
// missing work first, then each factor against the class median. The risk figure the
// API also returns is not shown: flags are for the teacher to act on.
(function () {
  "use strict";
  const {session, api, problemNode, points, factorRows, missingItems} = window.MasteryDashboard;
  const root = document.getElementById("my-engagement");
  if (!root || !session.course_id) return;
  const $ = id => document.getElementById(id);

  api("/engagement/students/" + session.user_id).then(reply => {
    const summary = $("my-summary");
    if (!reply.ok) {
      summary.replaceChildren(problemNode(reply.body));
      root.dataset.ready = "yes";
      return;
    }
    const b = reply.body;
    summary.textContent = b.no_activity
      ? "Nothing recorded for you in this course yet: it fills in as you take part."
      : "Engagement index " + points(b.score) + " of 100 (" + b.band + ", " + b.trend + ").";
    const missing = missingItems(b);
    $("my-missing").hidden = missing.length === 0;
    $("my-missing").querySelector("ul").replaceChildren(...missing);
    const rows = factorRows(b);
    $("my-factors").hidden = rows.length === 0;
    $("my-factors").tBodies[0].replaceChildren(...rows);
    root.dataset.ready = "yes";
  });
})();
