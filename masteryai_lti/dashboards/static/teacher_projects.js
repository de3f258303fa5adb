// The teacher's Projects panel (project-based learning) on the launch page: the course's
// projects, a new one with the default rubric, opening and closing it, its groups formed
// from the course's students, the evaluation of each group's work against the rubric,
// the evidence each group handed in, and the scores, released to students once the
// project is closed. Everything goes through /api/v1 with the launch's session token
// (dashboard.js: the session, text-only page building, problems; projects.js: what this
// panel shares with the student's); names, titles and notes come from people and are set
// as text, never as HTML. A launch of a placed project's link opens that project.
(function () {
  "use strict";
  const {session, base, el, api, problemNode, points} = window.MasteryDashboard;
  const shared = window.MasteryProjects;
  const {count, mark, json, localTime, rubricFieldsets, evidenceContent, clearProblems} = shared;
  const root = document.getElementById("projects");
  if (!base || !root) return;
  const $ = id => document.getElementById(id);
  const state = {projects: [], members: [], membersProblem: null, project: null, groups: [],
    evaluations: [], peerRatings: [], scores: null, opener: null, editingGroup: null, draft: null};
  const STATUS_NAMES = {draft: "Draft", open: "Open", closed: "Closed"};
  const SHARES = {0: "None: everyone gets the group's score", 0.25: "A quarter of the mark moderated by peers",
    0.5: "Half of the mark moderated by peers", 0.75: "Three quarters of the mark moderated by peers",
    1: "All of the mark moderated by peers"};

  const projectPath = path => "/projects/" + state.project.id + (path || "");

  function announce(text) {
    $("projects-status").textContent = text;
  }

  function showProblems(form, body) {
    shared.showProblems(form, body, announce);
  }

  // -- people ------------------------------------------------------------------------------
  const personName = m => m.full_name || "Student " + m.user_id;
  const students = () => state.members.filter(m => m.role === "student")
    .sort((a, b) => personName(a).localeCompare(personName(b)) || a.user_id - b.user_id);

  function nameOf(userId) {
    const member = state.members.find(m => m.user_id === userId);
    if (member && member.full_name) return member.full_name;
    for (const group of state.groups) {
      const found = group.members.find(m => m.user_id === userId);
      if (found && found.name) return found.name;
    }
    return "Student " + userId;
  }

  const groupOf = userId => state.groups.find(g => g.members.some(m => m.user_id === userId));

  // -- the list of projects ------------------------------------------------------------------
  function projectMeta(project) {
    const parts = [STATUS_NAMES[project.status] || project.status,
      project.due_at ? "due " + localTime(project.due_at) : "no due date"];
    if (project.scores_released_at) parts.push("scores released");
    return parts.join(" · ");
  }

  function renderProjects() {
    $("projects-none").hidden = state.projects.length > 0;
    $("project-list").replaceChildren(...state.projects.map(project => {
      const pick = el("button", {"type": "button", "class": "pbl-pick", "data-project": project.id}, project.title);
      if (state.project && state.project.id === project.id) pick.setAttribute("aria-current", "true");
      pick.addEventListener("click", () => selectProject(project.id));
      return el("li", {"data-project": project.id}, pick, el("span", {"class": "muted meta"}, projectMeta(project)));
    }));
  }

  async function load() {
    const [projects, members] = await Promise.all([api("/projects"), api("/members")]);
    if (!projects.ok) {
      $("projects-status").replaceChildren(el("span", {}, "The course's projects could not be loaded:"),
        problemNode(projects.body));
      return;
    }
    state.projects = projects.body;
    state.members = members.ok ? members.body : [];
    state.membersProblem = members.ok ? null : members.body;
    renderProjects();
    announce(count(state.projects.length, "project", "projects") + ".");
    await openPlaced();
  }

  // A launch of an LMS link that places a project (session.project_id, see
  // lti/project_placements.py) opens that project, and takes the focus to it; a link
  // whose project cannot open says why (session.project_note).
  async function openPlaced() {
    const placed = state.projects.find(p => p.id === session.project_id);
    if (placed) return selectProject(placed.id, "Opened " + placed.title + ", the project of the LMS link you followed.");
    const note = session.project_note || (session.project_id
      ? "The project of the LMS link you followed is no longer among the course's projects." : "");
    $("projects-placed-note").textContent = note;
    $("projects-placed-note").hidden = !note;
  }

  async function selectProject(id, said) {
    closeForms();
    state.project = state.projects.find(p => p.id === id) || null;
    renderProjects();
    if (!state.project) return;
    const section = $("project");
    section.hidden = false;
    $("project-name").textContent = state.project.title;
    // Busy until its groups, evaluations and scores are in (data-state for scripts that
    // wait on it). The focus goes to its heading then, unless the teacher has already
    // moved it (opened the rubric editor and typed, say): taking it would send their
    // typing elsewhere.
    section.setAttribute("aria-busy", "true");
    section.dataset.state = "loading";
    const focusBefore = document.activeElement;
    await loadProject();
    // Another project picked meanwhile: its own load finishes the job.
    if (!state.project || state.project.id !== id) return;
    section.removeAttribute("aria-busy");
    section.dataset.state = "ready";
    if (said) announce(said);
    const focusNow = document.activeElement;
    if (focusNow === focusBefore || focusNow === document.body || !document.contains(focusNow)) {
      $("project-name").focus();
    }
  }

  // The open project's groups, evaluations and scores, fetched together and shown.
  async function loadProject() {
    const [groups, evaluations, ratings, scores] = await Promise.all([api(projectPath("/groups")),
      api(projectPath("/evaluations")), api(projectPath("/peer-ratings")), api(projectPath("/scores"))]);
    state.groups = groups.ok ? groups.body : [];
    state.evaluations = evaluations.ok ? evaluations.body : [];
    state.peerRatings = ratings.ok ? ratings.body : [];
    state.scores = scores.ok ? scores.body : null;
    renderProject();
    renderGroups(groups.ok ? null : groups.body);
    renderScores(scores.ok ? null : scores.body);
  }

  // -- one project ------------------------------------------------------------------------------
  function shareOf(weight) {
    return SHARES[weight] || (points(weight * 100) + "% of the mark moderated by peers");
  }

  function stateSentence(project) {
    if (project.status === "draft") return "Draft: students do not see it yet. Form the groups, then open it.";
    if (project.status === "open") return "Open: students see it, add evidence and rate their teammates.";
    const released = project.scores_released_at
      ? " Scores released on " + localTime(project.scores_released_at) + "; releasing again sends them as they are now." +
        " Reopening withdraws the release: students stop seeing their scores (the LMS gradebook keeps" +
        " what was sent) until you close the project and release again."
      : " Scores not released yet: students do not see them.";
    return "Closed: students can no longer rate each other or add evidence." + released;
  }

  function renderProject() {
    const project = state.project;
    $("project-name").textContent = project.title;
    $("project-state").textContent = stateSentence(project);
    $("project-description").textContent = project.description || "";
    $("project-description").hidden = !project.description;
    const penalty = project.non_submission_penalty;
    $("project-settings").replaceChildren(
      el("li", {}, project.due_at ? "Due " + localTime(project.due_at) : "No due date"),
      el("li", {}, shareOf(project.peer_weight)),
      el("li", {}, project.self_assessment ? "Students rate themselves too" : "Students do not rate themselves"),
      el("li", {}, penalty > 0 ? "A student who rates no teammate loses " + points(penalty * 100) + "% of their mark"
        : "No deduction for a student who rates no teammate"),
      el("li", {}, project.group_sign_up ? "Students choose their own group" +
        (project.max_group_size ? ", up to " + project.max_group_size + " members" : "") : "You form the groups"));
    const signUp = $("sign-up-form");
    clearProblems(signUp);
    // A closed project's groups keep their members: who forms them matters again only
    // once it is reopened (the summary above still says how they were formed).
    signUp.hidden = project.status === "closed";
    signUp.elements.group_sign_up.checked = project.group_sign_up;
    signUp.elements.max_group_size.value = project.max_group_size === null ? "" : String(project.max_group_size);
    const actions = [];
    const action = (label, run) => {
      const button = el("button", {"type": "button", "data-action": label}, label);
      button.addEventListener("click", () => run(button));
      actions.push(button);
    };
    if (project.status === "draft") action("Open to students", () => setStatus("open"));
    if (project.status === "open") action("Close the project", () => setStatus("closed"));
    if (project.status === "closed") {
      action(project.scores_released_at ? "Release scores again" : "Release scores", release);
      action("Reopen to students", () => setStatus("open"));
    }
    action("Delete project", confirmDeleteProject);
    actions[actions.length - 1].classList.add("danger");
    $("project-actions").replaceChildren(...actions);
    $("project-result").replaceChildren();
    renderRubric();
  }

  function replaceProject(project) {
    state.projects = state.projects.map(p => p.id === project.id ? project : p);
    state.project = project;
    renderProjects();
  }

  const STATUS_SAID = {open: "is open: students see it now.", closed: "is closed: no more ratings or evidence."};

  async function setStatus(status) {
    const reply = await api(projectPath(), json("PATCH", {status}));
    if (!reply.ok) return $("project-result").replaceChildren(problemNode(reply.body));
    replaceProject(reply.body);
    renderProject();
    // Closing keeps the groups' members (no deleting a group with members); reopening frees them.
    renderGroups(null);
    renderScores(null);
    announce(reply.body.title + " " + STATUS_SAID[status]);
    $("project-name").focus();
  }

  async function release() {
    const reply = await api(projectPath("/scores/release"), {method: "POST"});
    if (!reply.ok) return $("project-result").replaceChildren(problemNode(reply.body));
    const released = reply.body.length;
    const fresh = await api(projectPath());
    if (fresh.ok) replaceProject(fresh.body);
    await loadProject();
    // Students who left the course get no score: they are not waiting for one.
    const grouped = state.groups.reduce((n, g) => n + g.members.filter(m => !m.left_course).length, 0);
    const waiting = grouped - released;
    announce("Scores released: " + count(released, "student sees", "students see") + " their score now" +
      (waiting === 1 ? "; 1 student whose group you have not evaluated gets nothing yet."
        : waiting > 1 ? "; " + waiting + " students whose groups you have not evaluated get nothing yet." : "."));
    $("project-name").focus();
  }

  // -- the rubric ---------------------------------------------------------------------------------
  // Evaluations and peer ratings name the rubric's criteria and levels by key and points:
  // once any exists the API refuses a change to those (409), and the page says so first;
  // its wording (names, labels, descriptions) still changes, through the same editor.
  function rubricLocked() {
    return state.evaluations.length + state.peerRatings.length > 0;
  }

  function renderRubric() {
    const rubric = state.project.rubric;
    $("rubric-summary").replaceChildren(...rubric.criteria.map(c => el("li", {"data-criterion": c.key},
      el("strong", {}, c.name), " (weight " + mark(c.weight) + "): " +
        c.levels.map(l => l.label + " " + mark(l.points)).join(", "))));
    const locked = rubricLocked();
    const note = $("rubric-locked");
    note.hidden = !locked;
    // Teachers can withdraw evaluations, not students' peer ratings: the way out said is
    // the one the teacher has.
    const used = [state.evaluations.length ? count(state.evaluations.length, "evaluation", "evaluations") : "",
      state.peerRatings.length ? count(state.peerRatings.length, "peer rating", "peer ratings") : ""];
    note.textContent = locked ? "The rubric's criteria, weights and points can no longer change: it has been used for " +
      used.filter(Boolean).join(" and ") + ". Its wording still can. " + (state.peerRatings.length
      ? "Create a new project for another scale." : "Withdraw the evaluations to change the scale, or create a new project.") : "";
    $("rubric-edit").textContent = locked ? "Edit the rubric's wording" : "Edit rubric";
  }

  // The editor works on a copy (state.draft): criteria keep the key they have, so work
  // already placed against them still names them; a new criterion's key comes from its
  // name when the rubric is saved. Weights and points stay as typed until then, so the
  // API says what is wrong with them beside them.
  function draftOf(rubric) {
    return {criteria: rubric.criteria.map(c => ({key: c.key, name: c.name, weight: String(c.weight),
      description: c.description || "", levels: c.levels.map(l => ({label: l.label, points: String(l.points),
        description: l.description || ""}))}))};
  }

  function openRubricForm(opener) {
    closeForms();
    state.opener = opener;
    state.draft = draftOf(state.project.rubric);
    // Under evaluations or ratings only the wording may change: the scale's fields are
    // read-only and nothing is added or removed (the API would refuse it).
    state.wordingOnly = rubricLocked();
    $("rubric-form-title").textContent = state.wordingOnly ? "Edit the rubric's wording" : "Edit the rubric";
    $("rubric-wording-help").hidden = !state.wordingOnly;
    for (const id of ["rubric-add-criterion", "rubric-default", "rubric-default-help"]) $(id).hidden = state.wordingOnly;
    clearProblems($("rubric-form"));
    renderDraft();
    $("rubric-form").hidden = false;
    opener.setAttribute("aria-expanded", "true");
    $("rubric-form-title").focus();
  }

  function closeRubricForm() {
    closeForms();
    const opener = $("rubric-edit");
    (opener.hidden ? $("rubric-title") : opener).focus();
  }

  // A labelled control of the draft: `where` is {c} or {c, l}, `name` its field; the
  // surrounding .field carries the API's path for it, and room for its error.
  function draftField(where, name, label, control, hint) {
    const at = "rubric.criteria[" + where.c + "]" + (where.l === undefined ? "" : ".levels[" + where.l + "]") + "." + name;
    const id = "rubric-c" + where.c + (where.l === undefined ? "" : "-l" + where.l) + "-" + name;
    control.id = id;
    control.dataset.c = where.c;
    if (where.l !== undefined) control.dataset.l = where.l;
    control.dataset.name = name;
    const item = where.l === undefined ? state.draft.criteria[where.c] : state.draft.criteria[where.c].levels[where.l];
    control.value = item[name];
    const box = el("div", {"class": "field", "data-path": at}, el("label", {"for": id}, label), control);
    if (hint) {
      box.append(el("p", {"class": "muted hint", "id": id + "-help"}, hint));
      control.setAttribute("aria-describedby", id + "-help");
    }
    box.append(el("p", {"class": "field-error", "id": id + "-error", "hidden": ""}));
    return box;
  }

  const textInput = max => el("input", {"type": "text", "maxlength": String(max), "autocomplete": "off"});
  const numberInput = () => el("input", {"type": "text", "inputmode": "decimal", "autocomplete": "off", "class": "number"});
  const criterionLegend = (c, name) => "Criterion " + (c + 1) + (name.trim() ? ": " + name.trim() : "");

  // A number field of the scale (weight, points): read-only while only wording may change.
  function scaleInput() {
    const input = numberInput();
    if (state.wordingOnly) input.readOnly = true;
    return input;
  }

  // A button that adds or removes a criterion or level: none while only wording may change.
  const scaleActions = (...buttons) => state.wordingOnly ? [] : [el("div", {"class": "actions"}, ...buttons)];

  function draftLevel(c, l) {
    const legendId = "rubric-c" + c + "-l" + l + "-legend";
    const remove = el("button", {"type": "button", "class": "danger remove-level"}, "Remove level " + (l + 1) + " of criterion " + (c + 1));
    remove.addEventListener("click", () => removeLevel(c, l));
    return el("li", {}, el("fieldset", {"class": "field rubric-edit-level", "data-path": "rubric.criteria[" + c + "].levels[" + l + "]"},
    el("legend", {"id": legendId}, "Level " + (l + 1)),
    draftField({c, l}, "label", "Label", textInput(100)),
    draftField({c, l}, "points", "Points", scaleInput()),
    draftField({c, l}, "description", "What it looks like (optional)", el("textarea", {"rows": "2", "maxlength": "2000"})),
    el("p", {"class": "field-error", "id": "rubric-c" + c + "-l" + l + "-error", "hidden": ""}),
    ...scaleActions(remove)));
  }

  function draftCriterion(criterion, c) {
    const legendId = "rubric-c" + c + "-legend";
    const addLevel = el("button", {"type": "button", "class": "add-level", "id": "rubric-c" + c + "-add-level"},
      "Add a level to criterion " + (c + 1));
    addLevel.addEventListener("click", () => addDraftLevel(c));
    const remove = el("button", {"type": "button", "class": "danger remove-criterion"}, "Remove criterion " + (c + 1));
    remove.addEventListener("click", () => removeCriterion(c));
    const levels = el("fieldset", {"class": "field rubric-edit-levels", "data-path": "rubric.criteria[" + c + "].levels"},
      el("legend", {}, "Levels of criterion " + (c + 1)),
      el("ol", {"class": "rubric-edit-level-list"}, ...criterion.levels.map((level, l) => draftLevel(c, l))),
      el("p", {"class": "field-error", "id": "rubric-c" + c + "-levels-error", "hidden": ""}),
      ...scaleActions(addLevel));
    return el("fieldset", {"class": "field rubric-edit-criterion", "data-path": "rubric.criteria[" + c + "]",
      "tabindex": "-1", "data-key": criterion.key || ""},
    el("legend", {"id": legendId}, criterionLegend(c, criterion.name)),
    draftField({c}, "name", "Name", textInput(200)),
    draftField({c}, "weight", "Weight", scaleInput(), "1 counts as much as any other criterion of weight 1; 2 twice as much."),
    draftField({c}, "description", "What it judges (optional)", el("textarea", {"rows": "2", "maxlength": "2000"})),
    levels,
    el("p", {"class": "field-error", "id": "rubric-c" + c + "-error", "hidden": ""}),
    ...scaleActions(remove));
  }

  function renderDraft() {
    $("rubric-criteria").replaceChildren(...state.draft.criteria.map(draftCriterion));
  }

  // What is typed goes into the draft at once, so adding or removing a criterion or a
  // level (which builds the fields again, numbered anew) keeps it.
  function typedIntoDraft(event) {
    const control = event.target;
    if (control.dataset.c === undefined || !state.draft) return;
    const criterion = state.draft.criteria[Number(control.dataset.c)];
    const item = control.dataset.l === undefined ? criterion : criterion.levels[Number(control.dataset.l)];
    item[control.dataset.name] = control.value;
    if (control.dataset.l === undefined && control.dataset.name === "name") {
      $("rubric-c" + control.dataset.c + "-legend").textContent = criterionLegend(Number(control.dataset.c), control.value);
    }
  }

  function addCriterion() {
    const last = state.draft.criteria[state.draft.criteria.length - 1];
    // A new criterion takes the scale of the last one (labels and points), so the
    // rubric's levels read alike; its descriptions are for the teacher to write.
    const levels = last ? last.levels.map(l => ({label: l.label, points: l.points, description: ""}))
      : [{label: "", points: "1", description: ""}, {label: "", points: "2", description: ""}];
    state.draft.criteria.push({key: null, name: "", weight: "1", description: "", levels});
    renderDraft();
    const c = state.draft.criteria.length - 1;
    announce("Criterion " + (c + 1) + " added, with " + count(levels.length, "level", "levels") + ": give it a name.");
    $("rubric-c" + c + "-name").focus();
  }

  function removeCriterion(c) {
    const [gone] = state.draft.criteria.splice(c, 1);
    renderDraft();
    announce("Criterion " + (c + 1) + (gone.name.trim() ? " (" + gone.name.trim() + ")" : "") + " removed." +
      (state.draft.criteria.length ? "" : " A rubric needs at least one criterion."));
    const next = $("rubric-criteria").querySelectorAll("fieldset.rubric-edit-criterion")[c];
    (next || $("rubric-add-criterion")).focus();
  }

  function addDraftLevel(c) {
    const levels = state.draft.criteria[c].levels;
    const numbers = levels.map(l => Number(String(l.points).replace(",", "."))).filter(Number.isFinite);
    levels.push({label: "", points: String(numbers.length ? Math.max(...numbers) + 1 : 1), description: ""});
    renderDraft();
    announce("Level " + levels.length + " added to criterion " + (c + 1) + ".");
    $("rubric-c" + c + "-l" + (levels.length - 1) + "-label").focus();
  }

  function removeLevel(c, l) {
    state.draft.criteria[c].levels.splice(l, 1);
    renderDraft();
    announce("Level " + (l + 1) + " of criterion " + (c + 1) + " removed.");
    $("rubric-c" + c + "-add-level").focus();
  }

  // A key the API takes (a lower-case letter, then letters, digits or _, at most 40)
  // made from a criterion's name, unlike any in `taken` (which it joins).
  function keyFor(name, taken) {
    let key = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (!/^[a-z]/.test(key)) key = "criterion" + (key ? "_" + key : "");
    key = key.slice(0, 40).replace(/_+$/, "");
    let unique = key;
    for (let n = 2; taken.has(unique); n++) unique = key.slice(0, 40 - String(n).length - 1) + "_" + n;
    taken.add(unique);
    return unique;
  }

  // A number as typed ("2,5" too), or the text itself, for the API to refuse beside it.
  function typedNumber(text) {
    const plain = String(text).trim().replace(",", ".");
    if (plain === "") return null;
    return Number.isFinite(Number(plain)) ? Number(plain) : String(text).trim();
  }

  function draftRubric() {
    const taken = new Set(state.draft.criteria.filter(c => c.key).map(c => c.key));
    return {criteria: state.draft.criteria.map(c => ({
      key: c.key || keyFor(c.name, taken), name: c.name.trim(), weight: typedNumber(c.weight),
      description: c.description.trim(),
      levels: c.levels.map(l => ({label: l.label.trim(), points: typedNumber(l.points), description: l.description.trim()})),
    }))};
  }

  async function saveRubric(event) {
    event.preventDefault();
    await sendRubric(draftRubric(), "Rubric saved: ");
  }

  async function defaultRubric() {
    await sendRubric(null, "The default rubric is saved in place of the one you had: ");
  }

  // PATCH the rubric (null: the default). Saved, the editor closes, or stays open on the
  // saved default; refused, the problems are said beside their fields, and on a 409
  // (someone evaluated meanwhile) the page learns why the rubric is now fixed.
  async function sendRubric(rubric, said) {
    const form = $("rubric-form");
    const reply = await api(projectPath(), json("PATCH", {rubric}));
    if (!reply.ok) {
      showProblems(form, reply.body);
      if (reply.status === 409) {
        const [evaluations, ratings] = await Promise.all([api(projectPath("/evaluations")), api(projectPath("/peer-ratings"))]);
        if (evaluations.ok) state.evaluations = evaluations.body;
        if (ratings.ok) state.peerRatings = ratings.body;
        renderRubric();
      }
      return;
    }
    replaceProject(reply.body);
    renderProject();
    const names = reply.body.rubric.criteria.map(c => c.name).join(", ");
    if (rubric === null) {
      state.draft = draftOf(reply.body.rubric);
      clearProblems(form);
      renderDraft();
      announce(said + names + ". Change it here, then save.");
      $("rubric-form-title").focus();
      return;
    }
    closeForms();
    announce(said + names + ".");
    $("rubric-title").focus();
  }

  // -- deleting ---------------------------------------------------------------------------------
  // A deletion asked once more, beside what it removes: `said` what goes with it, `yes`
  // the button that does it. `run` answers null when done (and moves the focus on), or
  // the problem to show in the box. Keep it (or Escape) puts the focus back on `opener`.
  function confirmStep(after, opener, said, yes, run) {
    closeForms();
    const text = el("p", {"tabindex": "-1", "class": "confirm-text"}, said);
    const go = el("button", {"type": "button", "class": "danger yes"}, yes);
    const keep = el("button", {"type": "button", "class": "cancel"}, "Keep it");
    const box = el("div", {"class": "confirm", "role": "group", "aria-label": yes + "?"}, text,
      el("div", {"class": "actions"}, go, keep));
    const back = () => { box.remove(); opener.focus(); };
    keep.addEventListener("click", back);
    box.addEventListener("keydown", event => { if (event.key === "Escape") back(); });
    go.addEventListener("click", async () => {
      go.disabled = true;
      const problem = await run();
      if (!problem) return;
      go.disabled = false;
      box.querySelectorAll(".problem").forEach(n => n.remove());
      box.append(problemNode(problem));
    });
    after.after(box);
    text.focus();
  }

  const some = (n, one, many) => n ? count(n, one, many) : "no " + many;

  // "(now 2 groups, 1 evaluation and no peer ratings)": what a deletion takes along.
  function takenAlong(parts) {
    const known = parts.filter(Boolean);
    return "(now " + known.slice(0, -1).join(", ") + (known.length > 1 ? " and " : "") + known[known.length - 1] + ")";
  }

  // How many pieces of evidence `query` lists, or null when the count cannot be had.
  async function evidenceCount(query) {
    const reply = await api(projectPath("/evidence" + query));
    return reply.ok ? some(reply.body.length, "piece of evidence", "pieces of evidence") : null;
  }

  async function confirmDeleteProject(opener) {
    const project = state.project;
    const along = takenAlong([some(state.groups.length, "group", "groups"),
      some(state.evaluations.length, "evaluation", "evaluations"), some(state.peerRatings.length, "peer rating", "peer ratings"),
      await evidenceCount("")]);
    confirmStep($("project-actions"), opener, "Delete the project " + project.title + "? This cannot be undone: its " +
      "groups, evaluations, peer ratings and evidence go with it " + along + ". Links to it in your LMS course stay, " +
      "and tell students it is gone.",
    "Delete the project", async () => {
      const reply = await api(projectPath(), {method: "DELETE"});
      if (!reply.ok) return reply.body;
      closeForms();
      state.projects = state.projects.filter(p => p.id !== project.id);
      state.project = null;
      $("project").hidden = true;
      renderProjects();
      announce("Project deleted: " + project.title + ".");
      $("projects-title").focus();
      return null;
    });
  }

  async function confirmDeleteGroup(group, opener) {
    const along = takenAlong([some(state.evaluations.filter(e => e.group_id === group.id).length, "evaluation", "evaluations"),
      some(state.peerRatings.filter(r => r.group_id === group.id).length, "peer rating", "peer ratings"),
      await evidenceCount("?group_id=" + group.id)]);
    const names = group.members.map(m => m.name || "Student " + m.user_id);
    confirmStep(opener.closest(".actions"), opener, "Delete the group " + group.name + "? This cannot be undone: its " +
      "evaluations, peer ratings and evidence go with it " + along +
      (names.length ? "; " + names.join(", ") + (names.length === 1 ? " is" : " are") + " then in no group." : "."),
    "Delete the group", async () => {
      const reply = await api(projectPath("/groups/" + group.id), {method: "DELETE"});
      if (!reply.ok) return reply.body;
      await loadProject();
      announce("Group deleted: " + group.name + ".");
      $("groups-title").focus();
      return null;
    });
  }

  function confirmWithdraw(group, evaluation, opener) {
    const others = state.evaluations.filter(e => e.group_id === group.id && e.id !== evaluation.id).length;
    confirmStep(opener.closest(".actions"), opener, "Withdraw your evaluation of " + group.name + " (" +
      mark(evaluation.score) + " of 100)? Your levels and comment are deleted; " + (others
      ? "the group's score is then the co-teachers' evaluation alone." : "the group has no score until it is evaluated again."),
    "Withdraw the evaluation", async () => {
      const reply = await api(projectPath("/evaluations/" + evaluation.id), {method: "DELETE"});
      if (!reply.ok) return reply.body;
      await loadProject();
      announce("Your evaluation of " + group.name + " is withdrawn.");
      const again = $("group-list").querySelector('li[data-group="' + group.id + '"] button.evaluate');
      (again || $("groups-title")).focus();
      return null;
    });
  }

  function confirmRemoveEvidence(group, item, opener) {
    const author = item.author_id === null ? "someone no longer in the course" : nameOf(item.author_id);
    confirmStep(opener.closest("li"), opener, "Remove " + item.title + ", added by " + author + ", from " + group.name +
      "'s evidence? This cannot be undone; the group no longer sees it.", "Remove the evidence", async () => {
      const reply = await api(projectPath("/evidence/" + item.id), {method: "DELETE"});
      if (!reply.ok) return reply.body;
      await fillEvidence(group);
      announce("Removed from " + group.name + "'s evidence: " + item.title + ".");
      $("evidence-" + group.id).querySelector(".evidence-title").focus();
      return null;
    });
  }

  // -- groups -----------------------------------------------------------------------------------
  function ungroupedSentence() {
    if (state.membersProblem) return null;
    const waiting = students().filter(s => !s.test_user && !groupOf(s.user_id));
    if (!students().length) return "The course has no students yet: they appear once they open the tool or the roster is synced.";
    if (!waiting.length) return "Every student of the course is in a group.";
    return "Not in a group yet (" + waiting.length + " of " + students().filter(s => !s.test_user).length + "): " +
      waiting.map(personName).join(", ") + ".";
  }

  function evaluationSummary(group) {
    const all = state.evaluations.filter(e => e.group_id === group.id);
    const mine = all.find(e => e.evaluator_id === session.user_id);
    const others = all.length - (mine ? 1 : 0);
    let text = mine ? "Your evaluation: " + mark(mine.score) + " of 100" : "Not evaluated by you yet";
    if (others) text += "; " + count(others, "co-teacher evaluated", "co-teachers evaluated") + " it too (the group's score averages them)";
    return text + ".";
  }

  const memberLocked = group => state.project.status === "closed" && group.members.length > 0;

  const memberLabel = m => (m.name || "Student " + m.user_id) + (m.left_course ? " (left the course)" : "");

  function groupEntry(group) {
    const names = group.members.map(memberLabel);
    const edit = el("button", {"type": "button", "class": "edit", "aria-controls": "group-form", "aria-expanded": "false"}, "Edit group");
    const evaluate = el("button", {"type": "button", "class": "evaluate", "aria-controls": "evaluation-" + group.id,
      "aria-expanded": "false"}, "Evaluate work");
    const evidence = el("button", {"type": "button", "class": "show-evidence", "aria-controls": "evidence-" + group.id,
      "aria-expanded": "false"}, "Evidence");
    const ratings = el("button", {"type": "button", "class": "show-ratings", "aria-controls": "ratings-" + group.id,
      "aria-expanded": "false"}, "Peer ratings");
    const buttons = [edit, evaluate, evidence, ratings];
    const mine = state.evaluations.find(e => e.group_id === group.id && e.evaluator_id === session.user_id);
    if (mine) {
      const withdraw = el("button", {"type": "button", "class": "danger withdraw"}, "Withdraw your evaluation");
      withdraw.addEventListener("click", () => confirmWithdraw(group, mine, withdraw));
      buttons.push(withdraw);
    }
    // A closed project's group with members stays (the API says 409): its members'
    // scores would go with it. #groups-closed says why and what to do instead.
    if (!memberLocked(group)) {
      const remove = el("button", {"type": "button", "class": "danger delete-group"}, "Delete group");
      remove.addEventListener("click", () => confirmDeleteGroup(group, remove));
      buttons.push(remove);
    }
    const label = "group-" + group.id + "-name";
    buttons.forEach(b => b.setAttribute("aria-describedby", label));
    edit.addEventListener("click", () => openGroupForm(group, edit));
    evaluate.addEventListener("click", () => toggleEvaluation(group, evaluate));
    evidence.addEventListener("click", () => toggleEvidence(group, evidence));
    ratings.addEventListener("click", () => toggleRatings(group, ratings));
    const box = el("div", {"class": "evidence-box", "id": "evidence-" + group.id});
    box.hidden = true;
    const rated = el("div", {"class": "ratings-box", "id": "ratings-" + group.id});
    rated.hidden = true;
    return el("li", {"data-group": group.id, "tabindex": "-1"},
      el("p", {"class": "group-line"}, el("strong", {"id": label}, group.name), ": ",
        names.length ? names.join(", ") : "no members yet"),
      el("p", {"class": "muted meta"}, evaluationSummary(group)),
      el("div", {"class": "actions"}, ...buttons), box, rated);
  }

  function renderGroups(problem) {
    const ungrouped = $("groups-ungrouped");
    if (state.membersProblem) {
      ungrouped.replaceChildren(el("span", {}, "The course's students could not be loaded:"), problemNode(state.membersProblem));
    } else {
      ungrouped.textContent = ungroupedSentence();
    }
    homeForms();
    if (problem) {
      $("group-list").replaceChildren(el("li", {}, problemNode(problem)));
      return;
    }
    $("groups-none").hidden = state.groups.length > 0;
    $("groups-closed").hidden = !state.groups.some(memberLocked);
    $("group-list").replaceChildren(...state.groups.map(groupEntry));
  }

  function openGroupForm(group, opener) {
    closeForms();
    const form = $("group-form");
    state.editingGroup = group;
    state.opener = opener;
    clearProblems(form);
    $("group-form-title").textContent = group ? "Edit group " + group.name : "New group";
    form.elements.name.value = group ? group.name : "";
    const mine = group ? group.members.map(m => m.user_id) : [];
    // A student of another group cannot be placed here (one group per project).
    const free = students().filter(s => mine.includes(s.user_id) || !groupOf(s.user_id));
    // A member who left the course is no longer among its students but stays in the group
    // unless unticked here (which takes their ratings along); nobody who left can join.
    const gone = group ? group.members.filter(m => m.left_course).map(m => {
      const box = el("input", {"type": "checkbox", "name": "member_ids", "value": String(m.user_id)});
      box.checked = true;
      return el("label", {"class": "check left-course"}, box, " " + memberLabel(m));
    }) : [];
    const checks = gone.concat(free.map(s => {
      const box = el("input", {"type": "checkbox", "name": "member_ids", "value": String(s.user_id)});
      box.checked = mine.includes(s.user_id);
      return el("label", {"class": "check"}, box, " " + personName(s) +
        (s.test_user ? " (the LMS's test student)" : ""));
    }));
    form.querySelector(".checks").replaceChildren(...(checks.length ? checks
      : [el("p", {"class": "muted"}, "Every student is in another group.")]));
    if (group) opener.closest("li").append(form);
    else $("group-new").after(form);
    form.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    form.elements.name.focus();
  }

  async function saveGroup(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.elements.name.value.trim();
    const memberIds = Array.from(form.querySelectorAll("input[name=member_ids]:checked"), b => Number(b.value));
    if (!name) {
      return showProblems(form, {detail: "The group is not saved: check the fields marked.",
        errors: [{path: "name", message: "Give the group a name."}]});
    }
    const editing = state.editingGroup;
    const reply = editing
      ? await api(projectPath("/groups/" + editing.id), json("PATCH", {name, member_ids: memberIds}))
      : await api(projectPath("/groups"), json("POST", {name, member_ids: memberIds}));
    if (!reply.ok) return showProblems(form, reply.body);
    closeForms();
    await loadProject();
    const saved = reply.body;
    const who = saved.members.map(m => m.name || "Student " + m.user_id);
    announce((editing ? "Group saved: " : "Group created: ") + saved.name + " with " +
      (who.length ? who.join(", ") : "no members yet") + ".");
    const li = $("group-list").querySelector('li[data-group="' + saved.id + '"]');
    (li || $("groups-title")).focus();
  }

  // -- evaluating a group's work ------------------------------------------------------------------
  function toggleEvaluation(group, opener) {
    const open = opener.getAttribute("aria-expanded") === "true";
    closeForms();
    if (open) return opener.focus();
    const rubric = state.project.rubric;
    const prefix = "evaluation-" + group.id;
    const mine = state.evaluations.find(e => e.group_id === group.id && e.evaluator_id === session.user_id);
    const title = el("h5", {"id": prefix + "-title", "tabindex": "-1"}, "Evaluate the work of " + group.name);
    const comment = el("textarea", {"id": prefix + "-comment", "name": "comment", "rows": "3", "maxlength": "5000",
      "aria-describedby": prefix + "-comment-help"});
    comment.value = mine ? mine.comment || "" : "";
    const cancel = el("button", {"type": "button", "class": "cancel"}, "Cancel");
    const form = el("form", {"id": prefix, "class": "editor-form rubric-form", "aria-labelledby": prefix + "-title", "novalidate": ""},
      title, el("div", {"class": "form-problem", "tabindex": "-1", "hidden": ""}),
      el("p", {"class": "muted hint"}, "Choose the level that best describes the group's work on each criterion."),
      ...rubricFieldsets(rubric, prefix, mine ? mine.ratings : null),
      el("div", {"class": "field", "data-path": "comment"},
        el("label", {"for": prefix + "-comment"}, "Comment on the group's work (optional)"), comment,
        el("p", {"class": "muted hint", "id": prefix + "-comment-help"},
          "The group's students read it with their scores once you release them."),
        el("p", {"class": "field-error", "id": prefix + "-comment-error", "hidden": ""})),
      el("div", {"class": "actions"}, el("button", {"type": "submit"}, "Save evaluation"), cancel));
    form.addEventListener("submit", event => saveEvaluation(event, group, opener));
    cancel.addEventListener("click", () => { closeForms(); opener.focus(); });
    form.addEventListener("keydown", event => { if (event.key === "Escape") { closeForms(); opener.focus(); } });
    opener.closest(".actions").after(form);
    opener.setAttribute("aria-expanded", "true");
    state.opener = opener;
    title.focus();
  }

  async function saveEvaluation(event, group, opener) {
    event.preventDefault();
    const form = event.currentTarget;
    const ratings = shared.chosenRatings(form, state.project.rubric, announce);
    if (!ratings) return;
    const reply = await api(projectPath("/groups/" + group.id + "/evaluation"),
      json("PUT", {ratings, comment: form.elements.comment.value.trim()}));
    if (!reply.ok) return showProblems(form, reply.body);
    closeForms();
    await loadProject();
    announce("Evaluation of " + group.name + " saved: " + mark(reply.body.score) + " of 100.");
    const again = $("group-list").querySelector('li[data-group="' + group.id + '"] button.evaluate');
    (again || opener).focus();
  }

  // -- evidence ------------------------------------------------------------------------------------
  function evidenceEntry(group, item, box) {
    const criterion = item.criterion_key && state.project.rubric.criteria.find(c => c.key === item.criterion_key);
    const meta = ["added by " + (item.author_id === null ? "someone no longer in the course" : nameOf(item.author_id)),
      localTime(item.created_at)];
    if (criterion) meta.push("for " + criterion.name);
    const li = el("li", {"data-evidence": item.id, "data-kind": item.kind},
      ...evidenceContent(item, () => shared.downloadEvidence(
        projectPath("/evidence/" + item.id + "/file"), item, box.querySelector(".download-result"))));
    li.append(el("span", {"class": "muted meta"}, (item.kind === "note" ? "Note" : item.kind === "link" ? "Link" : "File") +
      " · " + meta.join(" · ")));
    const remove = el("button", {"type": "button", "class": "danger remove", "aria-label": "Remove " + item.title}, "Remove");
    remove.addEventListener("click", () => confirmRemoveEvidence(group, item, remove));
    li.append(" ", remove);
    return li;
  }

  async function toggleEvidence(group, opener) {
    const box = $("evidence-" + group.id);
    const open = opener.getAttribute("aria-expanded") === "true";
    opener.setAttribute("aria-expanded", String(!open));
    box.hidden = open;
    if (!open) await fillEvidence(group);
  }

  async function fillEvidence(group) {
    const box = $("evidence-" + group.id);
    box.replaceChildren(el("p", {"class": "muted"}, "Loading the evidence…"));
    const reply = await api(projectPath("/evidence?group_id=" + group.id));
    if (!reply.ok) return box.replaceChildren(problemNode(reply.body));
    const heading = el("p", {"class": "evidence-title", "tabindex": "-1"},
      reply.body.length ? group.name + " handed in " + count(reply.body.length, "piece", "pieces") + " of evidence:"
        : group.name + " has handed in no evidence yet.");
    box.replaceChildren(heading);
    if (reply.body.length) box.append(el("ul", {"class": "pbl-list evidence"}, ...reply.body.map(item => evidenceEntry(group, item, box))));
    box.append(el("p", {"class": "download-result", "role": "status"}));
  }

  // -- peer ratings -----------------------------------------------------------------------------
  // What a teacher alone sees: who rated whom, the rating's score and levels, the comment.
  function levelsRated(ratings) {
    return state.project.rubric.criteria.filter(c => c.key in ratings).map(c => {
      const level = c.levels.find(l => Math.abs(l.points - ratings[c.key]) < 1e-9);
      return c.name + " " + (level ? level.label + " (" + points(level.points) + ")" : points(ratings[c.key]));
    }).join(", ");
  }

  function ratingEntry(rating) {
    const rater = nameOf(rating.rater_id);
    const who = rating.rater_id === rating.ratee_id ? rater + " rated their own contribution"
      : rater + " rated " + nameOf(rating.ratee_id);
    const li = el("li", {"data-rater": rating.rater_id, "data-ratee": rating.ratee_id},
      el("strong", {}, who), ": " + mark(rating.score) + " of 100",
      el("span", {"class": "muted meta"}, levelsRated(rating.ratings)));
    if (rating.comment) li.append(el("blockquote", {"class": "pre feedback"}, rating.comment));
    return li;
  }

  // Read again on opening: students may have rated since the project was loaded.
  async function toggleRatings(group, opener) {
    const box = $("ratings-" + group.id);
    const open = opener.getAttribute("aria-expanded") === "true";
    opener.setAttribute("aria-expanded", String(!open));
    box.hidden = open;
    if (open) return;
    box.replaceChildren(el("p", {"class": "muted"}, "Loading the peer ratings…"));
    const reply = await api(projectPath("/peer-ratings"));
    if (!reply.ok) return box.replaceChildren(problemNode(reply.body));
    state.peerRatings = reply.body;
    const given = state.peerRatings.filter(r => r.group_id === group.id);
    const idle = group.members.filter(m => !m.left_course && !given.some(r => r.rater_id === m.user_id))
      .map(m => nameOf(m.user_id));
    box.replaceChildren(el("p", {}, given.length
      ? count(given.length, "peer rating", "peer ratings") + " in " + group.name + ", one by one (students never see who rated them):"
      : "Nobody in " + group.name + " has rated a teammate yet."));
    if (given.length) box.append(el("ul", {"class": "pbl-list ratings"}, ...given.map(ratingEntry)));
    if (given.length && idle.length) box.append(el("p", {"class": "muted idle"}, "Rated nobody yet: " + idle.join(", ") + "."));
  }

  // -- scores ------------------------------------------------------------------------------------
  function contribution(member) {
    const gave = member.rated_peers ? "" : "; rated nobody";
    if (!member.peer_raters) return "not rated yet, so an equal share" + gave;
    return member.contribution_factor.toFixed(2) + " × an equal share, from " +
      count(member.peer_raters, "rating", "ratings") + gave;
  }

  function groupHeading(group) {
    const score = group.group_score;
    if (score.score === null) return group.name + ": work not evaluated yet";
    const names = {};
    state.project.rubric.criteria.forEach(c => { names[c.key] = c.name; });
    const criteria = (score.criteria || []).map(c => (names[c.key] || c.key) + " " + mark(c.points) + " of " + points(c.max_points));
    return group.name + ": work scored " + mark(score.score) + " of 100 (" + count(score.evaluators, "evaluation", "evaluations") +
      (criteria.length ? "; " + criteria.join(", ") : "") + ")";
  }

  function renderScores(problem) {
    const status = $("scores-status");
    const table = $("scores-table");
    table.querySelectorAll("tbody").forEach(body => body.remove());
    table.hidden = true;
    const scores = problem ? null : state.scores;
    // The CSV lists the students in no group too, so it is offered with or without groups.
    $("scores-download-actions").hidden = $("scores-download-help").hidden = !scores;
    $("scores-download-result").replaceChildren();
    if (problem) return status.replaceChildren(problemNode(problem));
    if (!scores) return;
    if (!scores.groups.length) {
      status.textContent = "No group yet: scores appear here once you form groups and evaluate their work.";
      return;
    }
    status.textContent = state.project.scores_released_at
      ? "Released: each student sees their own score and how it was reached."
      : "Not released yet: students do not see these scores." + (state.project.status === "closed" ? ""
        : " Close the project to release them.");
    scores.groups.forEach(group => {
      const body = el("tbody", {"data-group": group.group_id},
        el("tr", {"class": "group-row"}, el("th", {"scope": "rowgroup", "colspan": "4"}, groupHeading(group))));
      group.members.forEach(member => body.append(el("tr", {"data-student": member.student_id},
        el("th", {"scope": "row"}, member.name || "Student " + member.student_id),
        el("td", {"data-label": "Contribution"}, contribution(member)),
        el("td", {"data-label": "Score", "class": "score"}, member.score === null ? "none yet" : mark(member.score)),
        el("td", {"data-label": "How it was reached", "class": "explanation"}, member.explanation))));
      // Still in the group for the record, but out of moderation and unscored while away.
      (group.left_course || []).forEach(member => body.append(el("tr", {"data-student": member.student_id, "class": "left-course"},
        el("th", {"scope": "row"}, member.name || "Student " + member.student_id),
        el("td", {"data-label": "Contribution"}, "left the course"),
        el("td", {"data-label": "Score", "class": "score"}, "left the course"),
        el("td", {"data-label": "How it was reached", "class": "explanation"},
          "Left the course: neither rated nor rating while away, and given no score. Back in the course, they count again."))));
      if (!group.members.length && !(group.left_course || []).length) {
        body.append(el("tr", {}, el("td", {"colspan": "4"}, "No members.")));
      }
      table.append(body);
    });
    table.hidden = false;
  }

  // Fetched with the session's token and saved under the name the API gives it
  // (<project title>-scores.csv): a plain link would send no Authorization header.
  async function downloadScores(event) {
    const button = event.currentTarget;
    button.disabled = true;
    await shared.downloadFile(projectPath("/scores?format=csv"), null, $("scores-download-result"));
    button.disabled = false;
  }

  // -- who forms the groups ------------------------------------------------------------------------
  const GROUP_SIZE_PROBLEM = {path: "max_group_size", message: "A whole number from 2 to 30, or empty for up to 30."};

  // The size typed (null: empty, no limit of its own), or undefined when it is no size.
  function groupSize(input) {
    const text = input.value.trim();
    if (!text && !(input.validity && input.validity.badInput)) return null;
    const size = Number(text);
    return Number.isInteger(size) && size >= 2 && size <= 30 ? size : undefined;
  }

  async function saveSignUp(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const size = groupSize(form.elements.max_group_size);
    if (size === undefined) {
      return showProblems(form, {detail: "Not saved: check the field marked.", errors: [GROUP_SIZE_PROBLEM]});
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const reply = await api(projectPath(), json("PATCH", {group_sign_up: form.elements.group_sign_up.checked,
      max_group_size: size}));
    button.disabled = false;
    if (!reply.ok) return showProblems(form, reply.body);
    replaceProject(reply.body);
    renderProject();
    announce(reply.body.group_sign_up ? "Saved: students choose their own group" +
      (reply.body.status === "open" ? " now." : " once the project is open.") : "Saved: you form the groups.");
    form.querySelector("button[type=submit]").focus();
  }

  // -- a new project ----------------------------------------------------------------------------
  function openProjectForm(opener) {
    closeForms();
    const form = $("project-form");
    form.reset();
    clearProblems(form);
    state.opener = opener;
    form.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    form.elements.title.focus();
  }

  async function createProject(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const e = form.elements;
    const title = e.title.value.trim();
    const errors = [];
    if (!title) errors.push({path: "title", message: "Give the project a title."});
    let due = null;
    if (e.due_at.value) {
      const when = new Date(e.due_at.value);
      if (Number.isNaN(when.getTime())) errors.push({path: "due_at", message: "Give a date and time, or leave it empty."});
      else due = when.toISOString();
    }
    const size = groupSize(e.max_group_size);
    if (size === undefined) errors.push(GROUP_SIZE_PROBLEM);
    if (errors.length) return showProblems(form, {detail: "The project is not created: check the fields marked.", errors});
    const body = {title, description: e.description.value.trim(), due_at: due,
      peer_weight: Number(e.peer_weight.value), self_assessment: e.self_assessment.checked,
      non_submission_penalty: Number(e.non_submission_penalty.value),
      group_sign_up: e.group_sign_up.checked, max_group_size: size};
    const reply = await api("/projects", json("POST", body));
    if (!reply.ok) return showProblems(form, reply.body);
    closeForms();
    state.projects = [reply.body].concat(state.projects);
    await selectProject(reply.body.id, "Project created as a draft: " + reply.body.title + ". Form its groups, then open it to students.");
  }

  // -- forms and problems --------------------------------------------------------------------------
  // The static forms back where the template put them, so no re-rendered list takes them along.
  function homeForms() {
    $("project-new").after($("project-form"));
    $("group-new").after($("group-form"));
  }

  function closeForms() {
    homeForms();
    ["project-form", "group-form", "rubric-form"].forEach(id => { $(id).hidden = true; });
    root.querySelectorAll("form.rubric-form, .confirm").forEach(node => node.remove());
    root.querySelectorAll('[aria-controls="project-form"], [aria-controls="group-form"], [aria-controls="rubric-form"], ' +
      "button.evaluate")
      .forEach(b => b.setAttribute("aria-expanded", "false"));
    state.editingGroup = null;
    state.draft = null;
  }

  function cancel() {
    const opener = state.opener;
    closeForms();
    if (opener && document.contains(opener)) opener.focus();
  }

  // -- wiring ------------------------------------------------------------------------------------
  $("project-new").addEventListener("click", event => openProjectForm(event.currentTarget));
  $("project-form").addEventListener("submit", createProject);
  $("group-new").addEventListener("click", event => openGroupForm(null, event.currentTarget));
  $("group-form").addEventListener("submit", saveGroup);
  $("sign-up-form").addEventListener("submit", saveSignUp);
  $("scores-download").addEventListener("click", downloadScores);
  $("rubric-edit").addEventListener("click", event => openRubricForm(event.currentTarget));
  $("rubric-form").addEventListener("submit", saveRubric);
  $("rubric-form").addEventListener("input", typedIntoDraft);
  $("rubric-add-criterion").addEventListener("click", addCriterion);
  $("rubric-default").addEventListener("click", defaultRubric);
  $("rubric-form").querySelector(".cancel").addEventListener("click", closeRubricForm);
  $("rubric-form").addEventListener("keydown", event => { if (event.key === "Escape") closeRubricForm(); });
  [$("project-form"), $("group-form")].forEach(form => {
    form.querySelector(".cancel").addEventListener("click", cancel);
    form.addEventListener("keydown", event => { if (event.key === "Escape") cancel(); });
  });

  load().finally(() => {
    root.removeAttribute("aria-busy");
    root.dataset.state = "ready";
  });
})();
