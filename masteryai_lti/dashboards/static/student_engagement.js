// A student's own engagement (dashboard.js: the session, text-only page building):
// missing work first, then each factor against the class median, then their index over
// the last weeks. The risk figure and the flags the API also returns are not shown: they
// are for the teacher to act on.
(function () {
  "use strict";
  const {session, api, problemNode, points, factorRows, missingItems, showHistory} = window.MasteryDashboard;
  const root = document.getElementById("my-engagement");
  if (!root || !session.course_id) return;
  const $ = id => document.getElementById(id);

  const mine = "/engagement/students/" + session.user_id;
  Promise.all([api(mine), api(mine + "/history")]).then(([reply, past]) => {
    const summary = $("my-summary");
    if (!reply.ok) {
      summary.replaceChildren(problemNode(reply.body));
      root.dataset.ready = "yes";
      return;
    }
    const b = reply.body;
    summary.textContent = b.no_activity
      ? "Nothing recorded for you in this course yet: it fills in as you take part."
      : "Engagement index " + points(b.score) + " of 100 (" + b.band + "); your weekly activity is " + b.trend + ".";
    const missing = missingItems(b);
    $("my-missing").hidden = missing.length === 0;
    $("my-missing").querySelector("ul").replaceChildren(...missing);
    const rows = factorRows(b);
    $("my-factors").hidden = rows.length === 0;
    $("my-factors").tBodies[0].replaceChildren(...rows);
    $("my-history").hidden = b.no_activity;
    showHistory($("my-history"), past, false, b);
    root.dataset.ready = "yes";
  });
})();
