// The teacher's Topics panel: per topic (concept of the course's graph) how many students
// have mastered it and the class's typical mastery, weakest first; each topic opens on the
// students below the mastery line. One request, /mastery/heatmap (dashboard.js: the
// session, text-only page building, problems); a failure is said here and leaves the
// engagement panels alone.
(function () {
  "use strict";
  const {base, el, api, problemNode, points} = window.MasteryDashboard;
  const root = document.getElementById("topics");
  if (!base || !root) return;
  const $ = id => document.getElementById(id);

  // The middle of the figures (null when there are none).
  function median(values) {
    if (!values.length) return null;
    const sorted = values.slice().sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  const count = (n, one, many) => n + " " + (n === 1 ? one : many);
  const nameOf = s => s.full_name || ("Student " + s.user_id);

  // Per concept: who mastered it, who practised it without (yet) mastering it, who has
  // not practised it, and the median mastery of those who practised.
  function topicsOf(heatmap) {
    return heatmap.concepts.map((concept, index) => {
      const mastered = [], below = [], unpractised = [];
      heatmap.students.forEach(student => {
        const cell = student.cells[index];
        if (!cell || cell.mastery === null) unpractised.push(student);
        else if (cell.mastered) mastered.push(student);
        else below.push({student, cell});
      });
      below.sort((a, b) => a.cell.mastery - b.cell.mastery ||
        nameOf(a.student).localeCompare(nameOf(b.student)));
      const practised = heatmap.students.length - unpractised.length;
      const typical = median(heatmap.students.map(s => s.cells[index])
        .filter(c => c && c.mastery !== null).map(c => c.mastery));
      return {concept, index, mastered, below, unpractised, practised, typical};
    });
  }

  // Weakest first: the smallest share mastered, then the lowest typical mastery; a topic
  // no one has practised says nothing about the class yet and comes last.
  function weakestFirst(a, b) {
    const unknown = (a.practised === 0) - (b.practised === 0);
    if (unknown) return unknown;
    return a.mastered.length - b.mastered.length || (a.typical ?? 0) - (b.typical ?? 0) ||
      a.index - b.index;
  }

  // The students a topic opens on: below the line (lowest first, with their figure),
  // then those who have not practised it.
  function belowList(topic, threshold) {
    const box = el("div", {"class": "topic-below"});
    if (topic.below.length) {
      box.append(el("p", {}, count(topic.below.length, "student", "students") +
        " below the mastery line (" + points(threshold) + ") on " + topic.concept.name + ":"));
      box.append(el("ul", {"class": "below"}, ...topic.below.map(({student, cell}) => el("li",
        {"data-student": student.user_id},
        nameOf(student) + " — " + points(cell.mastery) + " of 100 · " +
          count(cell.attempts, "answer", "answers") +
          (cell.mastery >= threshold ? " (not yet enough answers to count as mastered)" : "")))));
    } else if (topic.practised) {
      box.append(el("p", {}, "No student who practised " + topic.concept.name + " is below the mastery line."));
    }
    if (topic.unpractised.length) {
      box.append(el("p", {}, "Not practised yet: " + topic.unpractised.map(nameOf).join(", ") + "."));
    }
    return box;
  }

  function topicRows(topic, total, threshold) {
    const id = "topic-below-" + topic.index;
    const toggle = el("button", {"type": "button", "class": "topic-toggle", "aria-expanded": "false",
      "aria-controls": id}, topic.concept.name);
    const detail = el("tr", {"id": id, "class": "topic-detail"},
      el("td", {"colspan": "3"}, belowList(topic, threshold)));
    detail.hidden = true;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
    });
    const share = total ? topic.mastered.length / total : 0;
    const fill = el("span", {});
    fill.style.width = Math.round(share * 100) + "%";
    const bar = el("span", {"class": "share", "aria-hidden": "true"}, fill);
    const row = el("tr", {"data-concept": topic.concept.key},
      el("th", {"scope": "row"}, toggle),
      el("td", {"data-label": "Mastered"}, topic.mastered.length + " of " + total, bar),
      el("td", {"data-label": "Typical mastery"}, topic.typical === null ? "not practised yet"
        : points(topic.typical) + " of 100 (" + count(topic.practised, "student", "students") + " practised)"));
    return [row, detail];
  }

  function show(reply) {
    const status = $("topics-status");
    // Shown again from scratch (after an edit the topics may be fewer, or none).
    $("topics-table").hidden = true;
    $("topics-help").hidden = true;
    if (!reply.ok) {
      status.replaceChildren(el("p", {}, "The class's mastery by topic could not be loaded " +
        "(the engagement panels are not affected):"), problemNode(reply.body));
      return;
    }
    const heatmap = reply.body;
    const concepts = heatmap.concepts || [], students = heatmap.students || [];
    const threshold = heatmap.threshold;
    if (!concepts.length) {
      // The editor is further down this page (dashboards/topic_editor.html).
      const link = el("a", {"href": "#topic-editor"}, "Edit topics and questions");
      link.addEventListener("click", event => {
        event.preventDefault();
        document.getElementById("editor-title").focus();
      });
      status.replaceChildren("This course has no topics yet. Add topics and questions to it first in ",
        link, " below. Each topic's mastery shows here once students practise.");
      return;
    }
    const listed = count(concepts.length, "topic", "topics");
    if (!students.length) {
      status.textContent = listed + ", no students yet: they appear here once they open the tool from the course.";
      return;
    }
    const topics = topicsOf(heatmap);
    if (topics.every(t => t.practised === 0)) {
      status.textContent = listed + ", no practice yet: each topic's mastery shows here once students " +
        "answer questions in the course's MasteryAI practice.";
      return;
    }
    topics.sort(weakestFirst);
    status.textContent = listed + " · " + count(students.length, "student", "students") + ".";
    const help = $("topics-help");
    help.hidden = false;
    help.textContent = "Mastery runs from 0 to 100, from each student's answers; a topic is " +
      "mastered from " + points(threshold) + " (the mastery line) once there are enough answers to be " +
      "sure. Mastered: students who have mastered the topic, out of the class. Typical mastery: the " +
      "middle figure of those who practised it (half the students are above it, half below). Open a " +
      "topic to see who is below the line.";
    $("topics-caption").textContent = "Weakest topics first: fewest students mastered, then the " +
      "lowest typical mastery; topics no one has practised yet last.";
    $("topics-table").tBodies[0].replaceChildren(...topics.flatMap(t => topicRows(t, students.length, threshold)));
    $("topics-table").hidden = false;
  }

  // `quiet`: after an edit the editor says what happened; this panel's status is a live
  // region too, and must not talk over it.
  function refresh(quiet) {
    const status = $("topics-status");
    root.setAttribute("aria-busy", "true");
    if (quiet) status.removeAttribute("role");
    api("/mastery/heatmap").then(show, () => show({ok: false, body: null})).finally(() => {
      root.removeAttribute("aria-busy");
      if (quiet) setTimeout(() => status.setAttribute("role", "status"), 0);
      root.dataset.state = "ready";  // not data-ready: pages wait for the one [data-ready=yes]
    });
  }

  refresh(false);
  // The editor further down the page changed the topics: list them as they now are.
  document.addEventListener("masteryai:topics-changed", () => refresh(true));
})();
