// A student's projects (project-based learning), on the course dashboard or on a placed
// project's page (the section's data-project: that project alone). Per project: their
// group and teammates (where the teacher lets students choose their group, the groups to
// join while in none, and leaving their own after a confirm step); their rating of each teammate's contribution against the rubric
// (teammates never see who rated them), withdrawn while the project is open; a teammate
// who left the course is listed as such, not rated; their group's evidence (links, notes, files),
// added and removed while the project is open; and their score with how it was reached,
// once the teacher releases it. A closed project is shown read-only. Everything goes
// through /api/v1 with the launch's session token (dashboard.js: the session, text-only
// page building, problems; projects.js: what this panel shares with the teacher's).
(function () {
  "use strict";
  const {session, base, el, api, problemNode, points} = window.MasteryDashboard;
  const shared = window.MasteryProjects;
  const {count, mark, webAddress, json, localTime, size, rubricFieldsets, evidenceContent, clearProblems} = shared;
  const root = document.getElementById("my-projects");
  if (!base || !root) return;
  const $ = id => document.getElementById(id);
  const placed = root.dataset.project ? Number(root.dataset.project) : null;
  const maxBytes = Number(root.dataset.maxBytes) || 10 * 1024 * 1024;
  const ANONYMOUS = "Teammates never see who rated them or how; only your teacher does.";
  const KIND_NAMES = {link: "Link", note: "Note", file: "File"};
  // Per project id: {project, group, given, evidence, scores, card}.
  const projects = new Map();

  function announce(text) {
    $("my-projects-status").textContent = text;
  }

  function showProblems(form, body) {
    shared.showProblems(form, body, announce);
  }

  const LIMIT = size(maxBytes);
  const open = entry => entry.project.status === "open";
  const pathOf = (entry, path) => "/projects/" + entry.project.id + (path || "");

  function memberName(entry, userId) {
    if (userId === session.user_id) return "you";
    const member = entry.group && entry.group.members.find(m => m.user_id === userId);
    return member ? member.name || "a teammate" : "someone no longer in your group";
  }

  // -- loading ---------------------------------------------------------------------------------
  async function load() {
    const list = $("my-project-list");
    let found;
    if (placed) {
      const reply = await api("/projects/" + placed);
      if (reply.status === 404) {
        announce("This project is not open yet: it shows here once your teacher opens it.");
        return;
      }
      if (!reply.ok) return $("my-projects-status").replaceChildren(problemNode(reply.body));
      found = [reply.body];
    } else {
      const reply = await api("/projects");
      if (!reply.ok) {
        return $("my-projects-status").replaceChildren(el("span", {}, "Your projects could not be loaded:"),
          problemNode(reply.body));
      }
      found = reply.body;
    }
    announce(placed ? "" : found.length ? count(found.length, "project", "projects") + " in this course."
      : "No project in this course yet.");
    const cards = found.map(project => {
      const card = el("article", {"class": "card pbl-card", "data-project": project.id,
        "aria-labelledby": "p" + project.id + "-title"}, el("p", {"class": "muted"}, "Loading " + project.title + "…"));
      list.append(card);
      return fill(card, project);
    });
    await Promise.all(cards);
  }

  async function fill(card, project) {
    const entry = {project, card, group: null, choices: [], given: [], evidence: [], scores: null};
    projects.set(project.id, entry);
    const [groups, given, evidence, scores] = await Promise.all([api(pathOf(entry, "/groups")),
      api(pathOf(entry, "/peer-ratings")), api(pathOf(entry, "/evidence")), api(pathOf(entry, "/scores"))]);
    if (!groups.ok) return card.replaceChildren(el("h3", {"id": "p" + project.id + "-title"}, project.title), problemNode(groups.body));
    // In no group while sign-up is open, the list is every group to choose from.
    const mine = groups.body.find(g => g.members.some(m => m.user_id === session.user_id));
    entry.group = mine || null;
    entry.choices = mine ? [] : groups.body;
    entry.given = given.ok ? given.body : [];
    entry.evidence = evidence.ok ? evidence.body : [];
    entry.scores = scores.ok ? scores.body : null;
    render(entry);
  }

  // -- one project ----------------------------------------------------------------------------------
  function render(entry) {
    const {project, card} = entry;
    const id = "p" + project.id;
    const status = project.status === "open" ? "Open" : "Closed";
    const parts = [el("h3", {"id": id + "-title", "tabindex": "-1"}, project.title),
      el("p", {"class": "muted meta"}, status + " · " + (project.due_at ? "due " + localTime(project.due_at) : "no due date"))];
    if (project.description) parts.push(el("p", {"class": "pre"}, project.description));
    if (!open(entry)) {
      parts.push(el("p", {"class": "notice closed-note"}, "This project is closed: you can read your group's work, " +
        "but ratings and evidence can no longer change."));
    }
    parts.push(groupPart(entry));
    if (entry.group) {
      parts.push(el("section", {"class": "pbl-part ratings", "aria-labelledby": id + "-ratings-title"}));
      parts.push(el("section", {"class": "pbl-part evidence-part", "aria-labelledby": id + "-evidence-title"}));
    }
    parts.push(el("section", {"class": "pbl-part score-part", "aria-labelledby": id + "-score-title"}));
    card.replaceChildren(...parts);
    if (entry.group) {
      renderRatings(entry);
      renderEvidence(entry);
    }
    renderScore(entry);
  }

  function groupPart(entry) {
    const id = "p" + entry.project.id;
    const box = el("section", {"class": "pbl-part group-part", "aria-labelledby": id + "-group-title"},
      el("h4", {"id": id + "-group-title", "tabindex": "-1"}, "Your group"));
    if (!entry.group && signingUp(entry)) {
      box.append(choices(entry));
      return box;
    }
    if (!entry.group) {
      box.append(el("p", {}, "You are not in a group of this project yet: your teacher puts students in groups."));
      return box;
    }
    const others = entry.group.members.filter(m => m.user_id !== session.user_id)
      .map(m => (m.name || "a teammate") + (m.left_course ? " (left the course)" : ""));
    box.append(el("p", {"class": "group-line"}, el("strong", {}, entry.group.name), ": ",
      others.length ? "you, " + others.join(", ") + "." : "you alone."));
    if (signingUp(entry)) box.append(leaving(entry));
    return box;
  }

  // -- choosing a group (where the teacher lets students sign up) ---------------------------------
  const signingUp = entry => open(entry) && entry.project.group_sign_up;

  function choices(entry) {
    const id = "p" + entry.project.id;
    const part = el("div", {"class": "sign-up"}, el("p", {"id": id + "-choose-help"},
      "Choose the group you work in: join one with room. You can leave it while the project is open."));
    if (!entry.choices.length) {
      part.append(el("p", {"class": "muted"}, "Your teacher has not created any group yet."));
      return part;
    }
    const list = el("ul", {"class": "pbl-list group-choices", "aria-describedby": id + "-choose-help"});
    entry.choices.forEach(group => {
      const names = group.members.map(m => m.name || "a classmate");
      const nameId = id + "-choice-" + group.id;
      const li = el("li", {"data-group": group.id}, el("strong", {"id": nameId}, group.name), " — ",
        el("span", {"class": "members"}, names.length ? names.join(", ") : "nobody yet"), " · ",
        el("span", {"class": "room"}, group.room ? count(group.room, "place", "places") + " left" : "full"));
      if (group.room) {
        const join = el("button", {"type": "button", "class": "join", "aria-describedby": nameId}, "Join " + group.name);
        join.addEventListener("click", () => joinGroup(entry, group, join));
        li.append(" ", join);
      }
      list.append(li);
    });
    part.append(list);
    return part;
  }

  async function joinGroup(entry, group, button) {
    button.disabled = true;
    const reply = await api(pathOf(entry, "/groups/" + group.id + "/join"), {method: "POST"});
    if (!reply.ok) {
      button.disabled = false;
      const li = button.closest("li");
      li.querySelectorAll(".problem").forEach(n => n.remove());
      li.append(problemNode(reply.body));
      return announce("Not joined: " + (reply.body && (reply.body.detail || reply.body.title) || "something went wrong."));
    }
    await refill(entry);
    announce("You joined " + group.name + ".");
  }

  // Leaving takes the ratings given and received in the group: said, then confirmed.
  function leaving(entry) {
    const id = "p" + entry.project.id + "-leave";
    const box = el("div", {"class": "leave-group"});
    const leave = el("button", {"type": "button", "class": "leave", "aria-expanded": "false",
      "aria-controls": id}, "Leave " + entry.group.name);
    leave.addEventListener("click", () => {
      if (box.querySelector(".confirm")) return;
      const yes = el("button", {"type": "button", "class": "danger confirm-leave"}, "Leave and drop the ratings");
      const no = el("button", {"type": "button", "class": "cancel"}, "Stay in " + entry.group.name);
      const confirm = el("div", {"class": "confirm", "id": id, "role": "group", "aria-labelledby": id + "-text"},
        el("p", {"id": id + "-text", "tabindex": "-1"}, "Leaving " + entry.group.name + " drops the ratings you gave " +
          "your teammates and the ones they gave you in it. Leave?"), el("div", {"class": "actions"}, yes, no));
      const close = () => { confirm.remove(); leave.setAttribute("aria-expanded", "false"); leave.focus(); };
      no.addEventListener("click", close);
      confirm.addEventListener("keydown", event => { if (event.key === "Escape") close(); });
      yes.addEventListener("click", () => leaveGroup(entry, yes, confirm));
      box.append(confirm);
      leave.setAttribute("aria-expanded", "true");
      yes.focus();
    });
    box.prepend(leave);
    return box;
  }

  async function leaveGroup(entry, button, confirm) {
    const name = entry.group.name;
    button.disabled = true;
    const reply = await api(pathOf(entry, "/groups/" + entry.group.id + "/leave"), {method: "POST"});
    if (!reply.ok) {
      button.disabled = false;
      confirm.querySelectorAll(".problem").forEach(n => n.remove());
      return confirm.append(problemNode(reply.body));
    }
    await refill(entry);
    announce("You left " + name + ": your ratings there are dropped.");
  }

  // After joining or leaving: the group, ratings and evidence read again, the focus on
  // the group's heading (the button pressed is gone).
  async function refill(entry) {
    await fill(entry.card, entry.project);
    const heading = $("p" + entry.project.id + "-group-title");
    if (heading) heading.focus();
  }

  // -- rating teammates ------------------------------------------------------------------------------
  // A teammate who left the course is out of moderation while away: nobody rates them.
  function ratees(entry) {
    return entry.group.members.filter(m => !m.left_course && (m.user_id !== session.user_id || entry.project.self_assessment));
  }

  function renderRatings(entry) {
    const id = "p" + entry.project.id;
    const section = entry.card.querySelector("section.ratings");
    const people = ratees(entry);
    const title = entry.project.self_assessment ? "Rate your teammates and yourself" : "Rate your teammates";
    section.replaceChildren(el("h4", {"id": id + "-ratings-title", "tabindex": "-1"}, title));
    const gone = entry.group.members.filter(m => m.left_course).map(m => m.name || "A teammate");
    if (gone.length) {
      section.append(el("p", {"class": "muted left-course"}, gone.join(", ") + (gone.length === 1 ? " has" : " have") +
        " left the course: nobody rates them while they are away."));
    }
    if (!people.length) {
      section.append(el("p", {}, gone.length ? "Nobody else in your group is still in the course: there is nobody to rate."
        : "You are the only member of your group: there is nobody to rate."));
      return;
    }
    section.append(el("p", {"class": "anonymity"}, "Rate how much each of you contributed, on the same rubric " +
      "your teacher uses. " + ANONYMOUS));
    if (!open(entry)) section.append(el("p", {"class": "muted"}, "Ratings are closed for this project."));
    const list = el("ul", {"class": "pbl-list ratees"});
    people.forEach(person => {
      const mine = person.user_id === session.user_id;
      const who = mine ? "yourself" : person.name || "a teammate";
      const rated = entry.given.find(r => r.ratee_id === person.user_id);
      const nameId = id + "-ratee-" + person.user_id;
      const li = el("li", {"data-ratee": person.user_id},
        el("strong", {"id": nameId}, mine ? "You" : person.name || "A teammate"), " — ",
        el("span", {"class": "rated-state"}, rated ? "rated" : "not rated yet"));
      if (open(entry)) {
        const button = el("button", {"type": "button", "class": "rate", "aria-expanded": "false",
          "aria-controls": id + "-rate-" + person.user_id}, (rated ? "Change your rating of " : "Rate ") + who);
        button.addEventListener("click", () => toggleRating(entry, person, button));
        li.append(" ", button);
      }
      list.append(li);
    });
    section.append(list);
  }

  function closeRatingForms(entry) {
    entry.card.querySelectorAll("form.rating-form").forEach(form => form.remove());
    entry.card.querySelectorAll("button.rate").forEach(b => b.setAttribute("aria-expanded", "false"));
  }

  function toggleRating(entry, person, opener) {
    const wasOpen = opener.getAttribute("aria-expanded") === "true";
    closeRatingForms(entry);
    if (wasOpen) return opener.focus();
    const prefix = "p" + entry.project.id + "-rate-" + person.user_id;
    const mine = person.user_id === session.user_id;
    const rated = entry.given.find(r => r.ratee_id === person.user_id);
    const title = el("h5", {"id": prefix + "-title", "tabindex": "-1"},
      mine ? "Your own contribution" : "The contribution of " + (person.name || "your teammate"));
    const comment = el("textarea", {"id": prefix + "-comment", "name": "comment", "rows": "2", "maxlength": "5000"});
    comment.value = rated ? rated.comment || "" : "";
    const cancel = el("button", {"type": "button", "class": "cancel"}, "Cancel");
    const actions = el("div", {"class": "actions"}, el("button", {"type": "submit"}, "Save rating"), cancel);
    if (rated) {
      const withdraw = el("button", {"type": "button", "class": "danger withdraw-rating"}, "Withdraw my rating");
      withdraw.addEventListener("click", () => withdrawRating(entry, person, form, withdraw));
      actions.append(withdraw);
    }
    const form = el("form", {"id": prefix, "class": "editor-form rating-form", "aria-labelledby": prefix + "-title",
      "aria-describedby": prefix + "-anonymous", "novalidate": ""},
      title, el("p", {"class": "muted hint", "id": prefix + "-anonymous"}, ANONYMOUS),
      el("div", {"class": "form-problem", "tabindex": "-1", "hidden": ""}),
      ...rubricFieldsets(entry.project.rubric, prefix, rated ? rated.ratings : null),
      el("div", {"class": "field", "data-path": "comment"},
        el("label", {"for": prefix + "-comment"}, "Comment for your teacher (optional)"), comment,
        el("p", {"class": "field-error", "id": prefix + "-comment-error", "hidden": ""})),
      actions);
    form.addEventListener("submit", event => saveRating(event, entry, person));
    cancel.addEventListener("click", () => { closeRatingForms(entry); opener.focus(); });
    form.addEventListener("keydown", event => {
      if (event.key === "Escape") { closeRatingForms(entry); opener.focus(); }
    });
    opener.closest("li").append(form);
    opener.setAttribute("aria-expanded", "true");
    title.focus();
  }

  async function saveRating(event, entry, person) {
    event.preventDefault();
    const form = event.currentTarget;
    const ratings = shared.chosenRatings(form, entry.project.rubric, announce);
    if (!ratings) return;
    const reply = await api(pathOf(entry, "/peer-ratings/" + person.user_id),
      json("PUT", {ratings, comment: form.elements.comment.value.trim()}));
    if (!reply.ok) return showProblems(form, reply.body);
    entry.given = entry.given.filter(r => r.ratee_id !== person.user_id).concat([reply.body]);
    renderRatings(entry);
    const mine = person.user_id === session.user_id;
    announce(mine ? "Your rating of yourself is saved." : "Your rating of " + (person.name || "your teammate") + " is saved.");
    entry.card.querySelector('li[data-ratee="' + person.user_id + '"] button.rate').focus();
  }

  // The rating stops counting at once; the teammate's line says "not rated yet" again.
  async function withdrawRating(entry, person, form, button) {
    button.disabled = true;
    const reply = await api(pathOf(entry, "/peer-ratings/" + person.user_id), {method: "DELETE"});
    button.disabled = false;
    if (!reply.ok) return showProblems(form, reply.body);
    entry.given = entry.given.filter(r => r.ratee_id !== person.user_id);
    renderRatings(entry);
    const mine = person.user_id === session.user_id;
    announce(mine ? "Your rating of yourself is withdrawn." : "Your rating of " + (person.name || "your teammate") + " is withdrawn.");
    entry.card.querySelector('li[data-ratee="' + person.user_id + '"] button.rate').focus();
  }

  // -- evidence -----------------------------------------------------------------------------------------
  function evidenceEntry(entry, item) {
    const li = el("li", {"data-evidence": item.id, "data-kind": item.kind, "tabindex": "-1"},
      ...evidenceContent(item, () => shared.downloadEvidence(pathOf(entry, "/evidence/" + item.id + "/file"), item,
        entry.card.querySelector("section.evidence-part .download-result"))));
    const criterion = item.criterion_key && entry.project.rubric.criteria.find(c => c.key === item.criterion_key);
    const meta = [KIND_NAMES[item.kind] || item.kind, "added by " + memberName(entry, item.author_id), localTime(item.created_at)];
    if (criterion) meta.push("for " + criterion.name);
    li.append(el("span", {"class": "muted meta"}, meta.join(" · ")));
    if (open(entry) && item.author_id === session.user_id) {
      const remove = el("button", {"type": "button", "class": "remove", "aria-label": "Remove " + item.title}, "Remove");
      remove.addEventListener("click", () => removeEvidence(entry, item, remove));
      li.append(" ", remove);
    }
    return li;
  }

  function renderEvidence(entry) {
    const id = "p" + entry.project.id;
    const section = entry.card.querySelector("section.evidence-part");
    const heading = el("h4", {"id": id + "-evidence-title", "tabindex": "-1"}, "Your group's evidence");
    const list = entry.evidence.length
      ? el("ul", {"class": "pbl-list evidence"}, ...entry.evidence.map(item => evidenceEntry(entry, item)))
      : el("p", {"class": "muted evidence-none"}, "Your group has not added any evidence yet.");
    const form = section.querySelector("form.evidence-form");
    section.replaceChildren(heading, list, el("p", {"class": "download-result", "role": "status"}));
    if (open(entry)) section.append(form || evidenceForm(entry));
  }

  function evidenceForm(entry) {
    const id = "p" + entry.project.id + "-evidence";
    const field = (path, label, control, hint) => {
      const box = el("div", {"class": "field", "data-path": path}, el("label", {"for": control.id}, label), control);
      const described = [];
      if (hint) {
        box.append(el("p", {"class": "muted hint", "id": control.id + "-help"}, hint));
        described.push(control.id + "-help");
      }
      if (described.length) control.setAttribute("aria-describedby", described.join(" "));
      box.append(el("p", {"class": "field-error", "id": control.id + "-error", "hidden": ""}));
      return box;
    };
    const kinds = el("fieldset", {"class": "field kinds", "data-path": "kind"}, el("legend", {}, "What you add"));
    ["link", "note", "file"].forEach(kind => {
      const radio = el("input", {"type": "radio", "name": "kind", "value": kind});
      radio.checked = kind === "link";
      kinds.append(el("label", {"class": "check"}, radio, " " + {link: "A link to your work", note: "A note",
        file: "A file"}[kind]));
    });
    kinds.append(el("p", {"class": "field-error", "id": id + "-kind-error", "hidden": ""}));
    const select = el("select", {"id": id + "-criterion", "name": "criterion_key"},
      el("option", {"value": ""}, "The project as a whole"),
      ...entry.project.rubric.criteria.map(c => el("option", {"value": c.key}, c.name)));
    const title = field("title", "Title", el("input", {"type": "text", "id": id + "-title-input", "name": "title",
      "maxlength": "200", "required": "", "autocomplete": "off"}));
    const url = field("url", "Web address", el("input", {"type": "url", "id": id + "-url", "name": "url",
      "maxlength": "2048", "inputmode": "url", "autocomplete": "off", "placeholder": "https://"}),
      "Where your work is: a document, a video, a site. It must start with https:// or http://.");
    const note = field("note", "Note", el("textarea", {"id": id + "-note", "name": "note", "rows": "4", "maxlength": "20000"}));
    const file = field("file", "File", el("input", {"type": "file", "id": id + "-file", "name": "file"}),
      "At most " + LIMIT + " per file. Share larger work, such as a video, as a link.");
    const form = el("form", {"class": "editor-form evidence-form", "aria-labelledby": id + "-form-title", "novalidate": ""},
      el("h5", {"id": id + "-form-title"}, "Add evidence"),
      el("div", {"class": "form-problem", "tabindex": "-1", "hidden": ""}),
      kinds, title, url, note, file,
      field("criterion_key", "What it shows (optional)", select),
      el("div", {"class": "actions"}, el("button", {"type": "submit"}, "Add evidence")));
    const showKind = () => {
      const kind = form.elements.kind.value;
      url.hidden = kind !== "link";
      note.hidden = kind !== "note";
      file.hidden = kind !== "file";
    };
    kinds.addEventListener("change", showKind);
    showKind();
    form.addEventListener("submit", event => addEvidence(event, entry));
    return form;
  }

  async function addEvidence(event, entry) {
    event.preventDefault();
    const form = event.currentTarget;
    const e = form.elements;
    const kind = e.kind.value;
    const title = e.title.value.trim();
    const criterion = e.criterion_key.value || null;
    const errors = [];
    if (!title) errors.push({path: "title", message: "Give it a title."});
    const picked = e.file.files[0];
    if (kind === "link" && !webAddress(e.url.value.trim())) {
      errors.push({path: "url", message: "A web address starting with https:// or http://."});
    }
    if (kind === "note" && !e.note.value.trim()) errors.push({path: "note", message: "Write the note."});
    if (kind === "file" && !picked) errors.push({path: "file", message: "Choose the file."});
    if (kind === "file" && picked && picked.size > maxBytes) {
      errors.push({path: "file", message: picked.name + " is " + size(picked.size) + ": at most " + LIMIT +
        " per file. Share larger work as a link."});
    }
    if (errors.length) return showProblems(form, {detail: "Not added: check the fields marked.", errors});
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    let reply;
    if (kind === "file") {
      const data = new FormData();
      data.append("file", picked);
      data.append("title", title);
      if (criterion) data.append("criterion_key", criterion);
      reply = await api(pathOf(entry, "/evidence/files"), {method: "POST", body: data});
    } else {
      const body = {kind, title, criterion_key: criterion};
      if (kind === "link") body.url = e.url.value.trim();
      else body.note = e.note.value;
      reply = await api(pathOf(entry, "/evidence"), json("POST", body));
    }
    button.disabled = false;
    if (!reply.ok) return showProblems(form, reply.body);
    clearProblems(form);
    ["title", "url", "note", "file"].forEach(name => { e[name].value = ""; });
    entry.evidence = [reply.body].concat(entry.evidence);
    renderEvidence(entry);
    announce("Added to your group's evidence: " + reply.body.title + ".");
    entry.card.querySelector('li[data-evidence="' + reply.body.id + '"]').focus();
  }

  async function removeEvidence(entry, item, button) {
    button.disabled = true;
    const reply = await api(pathOf(entry, "/evidence/" + item.id), {method: "DELETE"});
    if (!reply.ok) {
      button.disabled = false;
      const li = button.closest("li");
      li.querySelectorAll(".problem").forEach(n => n.remove());
      return li.append(problemNode(reply.body));
    }
    entry.evidence = entry.evidence.filter(other => other.id !== item.id);
    renderEvidence(entry);
    announce("Removed from your group's evidence: " + item.title + ".");
    $("p" + entry.project.id + "-evidence-title").focus();
  }

  // -- the score ------------------------------------------------------------------------------------------
  function renderScore(entry) {
    const id = "p" + entry.project.id;
    const section = entry.card.querySelector("section.score-part");
    section.replaceChildren(el("h4", {"id": id + "-score-title"}, "Your score"));
    const scores = entry.scores;
    if (!scores) {
      section.append(el("p", {"class": "score-state"}, "Your score could not be loaded just now."));
      return;
    }
    if (!scores.released) {
      section.append(el("p", {"class": "score-state"}, "Your teacher has not released scores yet."));
      return;
    }
    const group = scores.groups[0];
    const me = group && group.members.find(m => m.student_id === session.user_id);
    if (!me) {
      section.append(el("p", {"class": "score-state"}, "You were not in a group of this project, so it gives you no score."));
      return;
    }
    section.append(el("p", {"class": "score-state"}, me.score === null ? "No score yet."
      : el("strong", {"class": "score"}, mark(me.score) + " of 100")));
    section.append(el("p", {"class": "explanation"}, me.explanation));
    const feedback = (group.feedback || []).filter(text => text.trim());
    if (feedback.length) {
      section.append(el("p", {}, feedback.length === 1 ? "Your teacher's comment on your group's work:"
        : "Your teachers' comments on your group's work:"),
      ...feedback.map(text => el("blockquote", {"class": "pre feedback"}, text)));
    }
    const names = {};
    entry.project.rubric.criteria.forEach(c => { names[c.key] = c.name; });
    const criteria = (group.group_score.criteria || []);
    if (criteria.length) {
      section.append(el("p", {"class": "muted"}, "Your group's work on each criterion:"),
        el("ul", {"class": "criteria"}, ...criteria.map(c => el("li", {},
          (names[c.key] || c.key) + ": " + mark(c.points) + " of " + points(c.max_points) + " points"))));
    }
  }

  load().finally(() => {
    root.removeAttribute("aria-busy");
    root.dataset.state = "ready";
  });
})();
