// A student's own engagement (dashboard.js: the session, text-only page building):
// missing work first, their mastery of each topic (what "My progress" promises), then
// each factor against the class median, then their index over the last weeks. The risk figure and the flags the API also returns are not shown: they
// are for the teacher to act on.
(function () {
  "use strict";
  const {session, el, api, problemNode, points, factorRows, missingItems, showHistory} = window.MasteryDashboard;
  const root = document.getElementById("my-engagement");
  if (!root || !session.course_id) return;
  const $ = id => document.getElementById(id);

  // One line per concept of the course's graph; mastery is 0 to 100, mastered from the
  // course's threshold. A course without a graph says so (nothing to practise by topic).
  function showConcepts(reply) {
    const box = $("my-concepts");
    if (!reply.ok) return;  // not offered here: the rest of the page stands
    const concepts = reply.body.concepts || [];
    const threshold = points(reply.body.threshold);
    box.hidden = false;
    $("my-concepts-help").textContent = concepts.length
      ? "Each topic from 0 to 100, from your answers in this course's practice; mastered from " + threshold + "."
      : "Your teacher has not set up this course's topics yet: your progress shows here once they have.";
    box.querySelector("ul").replaceChildren(...concepts.map(c => el("li", {"data-concept": c.concept_key},
      el("strong", {}, c.name), ": ",
      c.attempts === 0 ? "not practised yet"
        : (c.mastered ? "mastered, " : "") + points(c.mastery) + " of 100 · " +
          c.attempts + (c.attempts === 1 ? " answer, " : " answers, ") + c.correct + " right")));
  }

  const mine = "/engagement/students/" + session.user_id;
  Promise.all([api(mine), api(mine + "/history"), api("/mastery/me")]).then(([reply, past, mastery]) => {
    showConcepts(mastery);
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
