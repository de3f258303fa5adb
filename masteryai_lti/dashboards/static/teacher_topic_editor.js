// The teacher's editor of the course's topics (concepts of its concept graph, with their
// prerequisites) and questions (items of its bank), on the launch page. Everything goes
// through the JSON API with the launch's session token (dashboard.js: the session,
// text-only page building, problems); names and prompts are set as text, never as HTML.
// A course on a concept graph shared by another course may not change it: the editor
// says so and offers the API's copy instead.
(function () {
  "use strict";
  const {session, base, el, api, json, problemNode} = window.MasteryDashboard;
  const root = document.getElementById("topic-editor");
  if (!base || !root) return;
  const $ = id => document.getElementById(id);
  const KIND_NAMES = {multiple_choice: "Multiple choice", numeric: "Number", short_text: "Short text"};
  // The API's concept key alphabet (mastery/graph.py KEY_PATTERN).
  const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$/;
  const UNTAGGED = "";  // the pseudo-topic of questions left without one
  const state = {topics: [], items: [], editable: true, selected: null, editingTopic: null,
    editingItem: null, keyTouched: false, opener: null};

  const count = (n, one, many) => n + " " + (n === 1 ? one : many);
  const topicOf = key => state.topics.find(t => t.key === key);
  const nameOf = key => (topicOf(key) || {name: key}).name;
  const itemsOf = key => key === UNTAGGED
    ? state.items.filter(i => !(i.concepts || []).length)
    : state.items.filter(i => (i.concepts || []).includes(key));
  const dependantsOf = key => state.topics.filter(t => (t.prerequisites || []).includes(key));

  function announce(text) {
    $("editor-status").textContent = text;
  }

  // -- loading ---------------------------------------------------------------------------
  // The graph (any member reads it; it says whether this teacher may change it) and the
  // whole bank (its managers only: a 403 says why not).
  async function load() {
    const [graph, bank] = await Promise.all([api("/concept-graph"), api("/items")]);
    if (!graph.ok && graph.status !== 404) {
      $("editor-status").replaceChildren(el("span", {}, "The course's topics could not be loaded:"),
        problemNode(graph.body));
      return false;
    }
    state.topics = graph.ok ? (graph.body.concepts || []).slice() : [];
    state.topics.sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key));
    // The graph says whether this teacher may change it; a course without a graph yet
    // is theirs to start.
    state.editable = graph.ok ? graph.body.editable : bank.status !== 403;
    state.items = bank.ok ? bank.body : [];
    if (!bank.ok && bank.status !== 404 && bank.status !== 403) {
      $("editor-status").replaceChildren(el("span", {}, "The course's questions could not be loaded:"),
        problemNode(bank.body));
    } else {
      announce(count(state.topics.length, "topic", "topics") + (state.editable
        ? ", " + count(state.items.length, "question", "questions") + "." : "."));
    }
    $("editor-shared").hidden = state.editable;
    if (!state.editable) $("editor-shared-why").textContent = (bank.body && bank.body.detail) ||
      "This course uses a concept graph shared by its owning course: only that course's teachers and the institution's admins change it.";
    $("editor-topics").hidden = false;
    $("editor-transfer").hidden = !state.editable;
    $("editor-add-topic").hidden = !state.editable;
    if (state.selected !== null && state.selected !== UNTAGGED && !topicOf(state.selected)) state.selected = null;
    if (state.selected === UNTAGGED && !itemsOf(UNTAGGED).length) state.selected = null;
    renderTopics();
    renderTopic();
    return true;
  }

  // The Topics panel above lists the topics too: tell it they changed.
  function topicsChanged() {
    document.dispatchEvent(new CustomEvent("masteryai:topics-changed"));
  }

  // -- topics ----------------------------------------------------------------------------
  function topicEntry(key, name, meta) {
    const pick = el("button", {"type": "button", "class": "topic-pick", "data-key": key}, name);
    if (key === state.selected) pick.setAttribute("aria-current", "true");
    pick.addEventListener("click", () => selectTopic(key));
    return el("li", {"data-key": key}, pick, el("span", {"class": "muted meta"}, meta));
  }

  function renderTopics() {
    $("editor-topics-none").hidden = state.topics.length > 0 || !state.editable;
    const entries = state.topics.map(topic => {
      const needs = (topic.prerequisites || []).map(nameOf);
      const meta = [state.editable ? count(itemsOf(topic.key).length, "question", "questions") : null,
        needs.length ? "needs " + needs.join(", ") : null].filter(Boolean).join(" · ");
      return topicEntry(topic.key, topic.name, meta ? " " + meta : "");
    });
    const untagged = itemsOf(UNTAGGED).length;
    if (state.editable && untagged) {
      entries.push(topicEntry(UNTAGGED, "Questions without a topic",
        " " + count(untagged, "question", "questions") + " · tag them to a topic so students get them"));
    }
    $("editor-topic-list").replaceChildren(...entries);
  }

  function selectTopic(key) {
    state.selected = key;
    closeForms();
    renderTopics();
    renderTopic();
    $("editor-topic-name").focus();
  }

  function renderTopic() {
    const section = $("editor-topic");
    const key = state.selected;
    if ($("editor-question-list").contains($("editor-question-form"))) closeForms();
    section.hidden = key === null;
    if (key === null) return;
    const topic = topicOf(key);
    $("editor-topic-name").textContent = topic ? topic.name : "Questions without a topic";
    $("editor-topic-description").textContent = topic ? topic.description || "" : "";
    $("editor-topic-description").hidden = !(topic && topic.description);
    const needs = topic ? (topic.prerequisites || []).map(nameOf) : [];
    $("editor-topic-needs").textContent = topic
      ? "Key " + topic.key + " · " + (needs.length ? "needs first: " + needs.join(", ") : "needs no other topic first")
      : "These questions lost their last topic when it was deleted: students do not get them until you tag them.";
    section.querySelectorAll("#editor-edit-topic, #editor-delete-topic").forEach(b => {
      b.hidden = !state.editable || !topic;
    });
    $("editor-topic-confirm").hidden = true;
    const questions = $("editor-question-list");
    [$("editor-questions-title"), questions, $("editor-add-question")].forEach(n => { n.hidden = !state.editable; });
    $("editor-add-question").hidden = !state.editable || !topic;
    if (!state.editable) {
      $("editor-questions-none").hidden = true;
      return;
    }
    const items = itemsOf(key);
    $("editor-questions-none").hidden = items.length > 0;
    questions.replaceChildren(...items.map(questionEntry));
  }

  // "Fractions" -> "fractions"; accents dropped; a name with no Latin letter or digit
  // gives "topic"; a key already used gets -2, -3...
  function keyFrom(name) {
    const stem = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+/, "").slice(0, 60).replace(/-+$/, "") || "topic";
    let key = stem;
    for (let n = 2; topicOf(key); n++) key = stem + "-" + n;
    return key;
  }

  function prerequisiteChecks(current, chosen) {
    const others = state.topics.filter(t => t.key !== current);
    if (!others.length) return [el("p", {"class": "muted"}, "No other topic yet.")];
    return others.map(t => {
      const box = el("input", {"type": "checkbox", "name": "prerequisites", "value": t.key});
      box.checked = chosen.includes(t.key);
      return el("label", {"class": "check"}, box, " " + t.name);
    });
  }

  function openTopicForm(topic, opener) {
    closeForms();
    const form = $("editor-topic-form");
    state.editingTopic = topic ? topic.key : null;
    state.keyTouched = false;
    state.opener = opener;
    clearProblems(form);
    $("editor-topic-form-title").textContent = topic ? "Edit topic " + topic.name : "Add a topic";
    form.elements.name.value = topic ? topic.name : "";
    form.elements.key.value = topic ? topic.key : "";
    form.elements.key.readOnly = Boolean(topic);
    $("topic-key-help").textContent = topic
      ? "The key names the topic in imported and exported files; it cannot change."
      : "Made from the name; it names the topic in imported and exported files and cannot " +
        "change later. Letters, digits and _ . : -";
    form.elements.description.value = topic ? topic.description || "" : "";
    form.querySelector("#topic-prerequisites .checks").replaceChildren(
      ...prerequisiteChecks(state.editingTopic, topic ? topic.prerequisites || [] : []));
    // Near what opened it: under the list to add, under the topic's buttons to edit.
    (topic ? $("editor-topic-confirm") : $("editor-add-topic")).after(form);
    form.hidden = false;
    if (opener.hasAttribute("aria-controls")) opener.setAttribute("aria-expanded", "true");
    form.elements.name.focus();
  }

  function topicPayload(form) {
    const errors = [];
    const name = form.elements.name.value.trim();
    const key = form.elements.key.value.trim();
    if (!name) errors.push({path: "name", message: "Give the topic a name."});
    if (!state.editingTopic) {
      if (!KEY_PATTERN.test(key)) {
        errors.push({path: "key", message: "Start with a letter or digit; then letters, digits and _ . : - only (at most 120)."});
      } else if (topicOf(key)) {
        errors.push({path: "key", message: "The topic " + nameOf(key) + " already has this key: choose another."});
      }
    }
    const prerequisites = Array.from(form.querySelectorAll("input[name=prerequisites]:checked"), b => b.value);
    return {key, errors, body: {name, description: form.elements.description.value.trim(), prerequisites}};
  }

  async function saveTopic(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const {key, errors, body} = topicPayload(form);
    if (errors.length) return showProblems(form, "topic", {detail: "The topic is not saved: check the fields marked.", errors});
    const adding = !state.editingTopic;
    const request = json("PUT", body);
    // Adding never overwrites: a co-teacher may have added this key since the page loaded.
    if (adding) request.headers["If-None-Match"] = "*";
    const reply = await api("/concepts/" + encodeURIComponent(key), request);
    if (!reply.ok) return refused(form, "topic", reply);
    state.selected = key;
    closeForms();
    await load();
    topicsChanged();
    announce((adding ? "Topic added: " : "Topic saved: ") + body.name + ".");
    $("editor-topic-name").focus();
  }

  // What deleting a topic loses, said before it happens.
  function confirmDeleteTopic() {
    const topic = topicOf(state.selected);
    if (!topic) return;
    closeForms();
    const box = $("editor-topic-confirm");
    const items = itemsOf(topic.key);
    const alone = items.filter(i => i.concepts.length === 1).length;
    const dependants = dependantsOf(topic.key).map(t => t.name);
    $("editor-topic-confirm-text").textContent = "Delete the topic " + topic.name + "? This cannot be undone. It loses:";
    const lost = [el("li", {}, "every student's mastery of it and the record of their practice on it")];
    if (items.length) {
      lost.push(el("li", {}, "its tag on " + count(items.length, "question", "questions") +
        (alone ? "; " + count(alone, "question practises", "questions practise") + " only this topic and " +
          (alone === 1 ? "stays" : "stay") + " in the bank without a topic (students do not get " +
          (alone === 1 ? "it" : "them") + " until you tag another)" : "")));
    }
    if (dependants.length) lost.push(el("li", {}, "its place as a prerequisite of " + dependants.join(", ")));
    box.querySelector("ul").replaceChildren(...lost);
    box.hidden = false;
    $("editor-topic-confirm-text").focus();
  }

  async function deleteTopic() {
    const topic = topicOf(state.selected);
    const reply = await api("/concepts/" + encodeURIComponent(topic.key), {method: "DELETE"});
    const box = $("editor-topic-confirm");
    if (!reply.ok) {
      box.querySelectorAll(".problem").forEach(n => n.remove());
      box.querySelector("ul").after(problemNode(reply.body));
      if (reply.status === 403) await load();
      return;
    }
    state.selected = null;
    await load();
    topicsChanged();
    announce("Topic deleted: " + topic.name + ".");
    $("editor-topics-title").focus();
  }

  // -- questions ---------------------------------------------------------------------------
  function answerSummary(item) {
    const answer = item.answer || {};
    if (item.kind === "multiple_choice") {
      const correct = (item.choices || []).filter(c => (answer.correct || []).map(String).includes(String(c.id)));
      return "correct: " + correct.map(c => c.text).join(" / ");
    }
    if (item.kind === "numeric") {
      return "answer " + answer.value + (answer.tolerance ? " ± " + answer.tolerance : "");
    }
    return "accepts " + (answer.accepted || []).join(" / ") + (answer.case_sensitive ? " (case sensitive)" : "");
  }

  function questionEntry(item) {
    const promptId = "editor-prompt-" + item.id;
    const others = (item.concepts || []).filter(k => k !== state.selected).map(nameOf);
    const answered = item.response_count
      ? "answered " + count(item.response_count, "time", "times") + ", " + item.correct_count + " correct"
      : "not answered yet";
    const edit = el("button", {"type": "button", "class": "edit", "aria-describedby": promptId}, "Edit");
    const remove = el("button", {"type": "button", "class": "danger delete", "aria-describedby": promptId}, "Delete");
    edit.addEventListener("click", () => openQuestionForm(item, edit));
    remove.addEventListener("click", () => confirmDeleteQuestion(item, remove));
    return el("li", {"data-item": item.id, "tabindex": "-1"},
      el("p", {"class": "prompt", "id": promptId}, item.prompt || "(no question text)"),
      el("p", {"class": "muted meta"}, [KIND_NAMES[item.kind] || item.kind, item.difficulty_label, answered,
        others.length ? "also " + others.join(", ") : null].filter(Boolean).join(" · ")),
      el("p", {"class": "muted meta answer"}, answerSummary(item)),
      el("div", {"class": "actions"}, edit, remove));
  }

  function confirmDeleteQuestion(item, opener) {
    closeForms();
    const li = opener.closest("li");
    const text = el("p", {"tabindex": "-1"}, "Delete this question? This cannot be undone. " +
      (item.response_count ? "Its " + count(item.response_count, "answer", "answers") +
        " stay in the students' history and their mastery does not change; " : "") +
      "assignments already given keep it out from now on.");
    const yes = el("button", {"type": "button", "class": "danger yes"}, "Delete the question");
    const no = el("button", {"type": "button", "class": "cancel"}, "Keep it");
    const box = el("div", {"class": "confirm", "role": "group"}, text, el("div", {"class": "actions"}, yes, no));
    no.addEventListener("click", () => { box.remove(); opener.focus(); });
    yes.addEventListener("click", () => deleteQuestion(item, li, box));
    li.append(box);
    text.focus();
  }

  async function deleteQuestion(item, li, box) {
    const reply = await api("/items/" + item.id, {method: "DELETE"});
    if (!reply.ok) {
      box.querySelectorAll(".problem").forEach(n => n.remove());
      box.append(problemNode(reply.body));
      if (reply.status === 403) await load();
      return;
    }
    const next = li.nextElementSibling || li.previousElementSibling;
    const nextId = next && next.dataset.item;
    state.items = state.items.filter(i => i.id !== item.id);
    if (state.selected === UNTAGGED && !itemsOf(UNTAGGED).length) state.selected = null;
    renderTopics();
    renderTopic();
    announce("Question deleted.");
    const target = nextId && $("editor-question-list").querySelector('li[data-item="' + nextId + '"]');
    (target || (state.selected === null ? $("editor-topics-title") : $("editor-questions-title"))).focus();
  }

  // One row per choice: its text, whether it is correct, and a way to remove it. The id
  // an existing choice had is kept (students' answers name it); a new one takes a free letter.
  function choiceRow(choice, correct) {
    const text = el("input", {"type": "text", "name": "choice_text", "autocomplete": "off", "maxlength": "2000"});
    text.value = choice ? choice.text : "";
    const right = el("input", {"type": "checkbox", "name": "choice_correct"});
    right.checked = Boolean(correct);
    const remove = el("button", {"type": "button", "class": "remove"}, "Remove");
    const label = el("label", {"class": "choice-text"}, el("span", {"class": "choice-name"}), text);
    const row = el("li", {"data-id": choice ? String(choice.id) : ""}, label,
      el("label", {"class": "check"}, right, " Correct"), remove);
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      numberChoices();
      (next ? next.querySelector("input[type=text]") : $("question-add-choice")).focus();
    });
    return row;
  }

  function numberChoices() {
    $("question-choices").querySelectorAll("ol.choices li").forEach((row, n) => {
      row.querySelector(".choice-name").textContent = "Choice " + (n + 1) + " ";
      row.querySelector(".remove").setAttribute("aria-label", "Remove choice " + (n + 1));
    });
  }

  function showKindFields(form) {
    const kind = form.elements.kind.value;
    form.querySelectorAll(".kind-fields").forEach(box => { box.hidden = box.dataset.kind !== kind; });
  }

  function openQuestionForm(item, opener) {
    closeForms();
    const form = $("editor-question-form");
    state.editingItem = item ? item.id : null;
    state.opener = opener;
    clearProblems(form);
    $("editor-question-form-title").textContent = item ? "Edit question" : "Add a question to " + nameOf(state.selected);
    const e = form.elements;
    const answer = (item && item.answer) || {};
    e.kind.value = item ? item.kind : "multiple_choice";
    e.prompt.value = item ? item.prompt : "";
    e.difficulty_label.value = item ? item.difficulty_label : "medium";
    const correct = (answer.correct || []).map(String);
    const choices = item && item.choices && item.choices.length ? item.choices : [null, null];
    form.querySelector("ol.choices").replaceChildren(...choices.map(c => choiceRow(c, c && correct.includes(String(c.id)))));
    numberChoices();
    e.value.value = item && item.kind === "numeric" ? String(answer.value) : "";
    e.tolerance.value = item && item.kind === "numeric" ? String(answer.tolerance || 0) : "0";
    e.accepted.value = item && item.kind === "short_text" ? (answer.accepted || []).join("\n") : "";
    e.case_sensitive.checked = Boolean(item && answer.case_sensitive);
    e.explanation.value = (item && item.explanation) || "";
    const tags = item ? item.concepts || [] : [state.selected];
    form.querySelector("#question-concepts .checks").replaceChildren(...state.topics.map(t => {
      const box = el("input", {"type": "checkbox", "name": "concepts", "value": t.key});
      box.checked = tags.includes(t.key);
      return el("label", {"class": "check"}, box, " " + t.name);
    }));
    showKindFields(form);
    if (item) opener.closest("li").append(form);
    else $("editor-add-question").after(form);
    form.hidden = false;
    if (opener.hasAttribute("aria-controls")) opener.setAttribute("aria-expanded", "true");
    $("editor-question-form-title").focus();
  }

  // "2,5" is how half the world writes 2.5.
  function number(text) {
    const trimmed = String(text).trim().replace(",", ".");
    return trimmed === "" ? NaN : Number(trimmed);
  }

  function questionPayload(form) {
    const e = form.elements;
    const errors = [];
    const body = {kind: e.kind.value, prompt: e.prompt.value.trim(), difficulty_label: e.difficulty_label.value,
      concepts: Array.from(form.querySelectorAll("input[name=concepts]:checked"), b => b.value)};
    if (!body.prompt) errors.push({path: "prompt", message: "Write the question."});
    body.explanation = e.explanation.value.trim();  // blank: none (the API stores no explanation)
    if (!body.concepts.length) errors.push({path: "concepts", message: "Tick at least one topic."});
    if (body.kind === "multiple_choice") {
      const rows = Array.from(form.querySelectorAll("ol.choices li"));
      const used = new Set(rows.map(r => r.dataset.id).filter(Boolean));
      let letter = 0;
      const freeId = () => {
        let id;
        do { id = letter < 26 ? String.fromCharCode(97 + letter) : "c" + letter; letter++; } while (used.has(id));
        used.add(id);
        return id;
      };
      rows.forEach(row => { if (!row.dataset.id) row.dataset.id = freeId(); });
      body.choices = rows.map(row => ({id: row.dataset.id, text: row.querySelector("input[type=text]").value.trim()}));
      body.answer = {correct: rows.filter(r => r.querySelector("input[type=checkbox]").checked).map(r => r.dataset.id)};
      if (body.choices.length < 2) errors.push({path: "choices", message: "Give at least two choices."});
      body.choices.forEach((c, n) => {
        if (!c.text) errors.push({path: "choices", message: "Choice " + (n + 1) + " is empty: write it or remove it."});
      });
      if (!body.answer.correct.length) errors.push({path: "answer.correct", message: "Tick the correct choice."});
    } else if (body.kind === "numeric") {
      body.choices = null;
      const value = number(e.value.value), tolerance = number(e.tolerance.value || "0");
      if (!Number.isFinite(value)) errors.push({path: "answer.value", message: "Give the correct value as a number, such as 2.5."});
      if (!Number.isFinite(tolerance) || tolerance < 0) {
        errors.push({path: "answer.tolerance", message: "Give a number of 0 or more (0: only the exact value)."});
      }
      body.answer = {value, tolerance};
    } else {
      body.choices = null;
      const accepted = e.accepted.value.split("\n").map(a => a.trim()).filter(Boolean);
      if (!accepted.length) errors.push({path: "answer.accepted", message: "Give at least one accepted answer."});
      body.answer = {accepted, case_sensitive: e.case_sensitive.checked};
    }
    return {body, errors};
  }

  async function saveQuestion(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const {body, errors} = questionPayload(form);
    if (errors.length) return showProblems(form, "question", {detail: "The question is not saved: check the fields marked.", errors});
    const editing = state.editingItem;
    const reply = editing === null ? await api("/items", json("POST", body))
      : await api("/items/" + editing, json("PATCH", body));
    if (!reply.ok) return refused(form, "question", reply);
    const saved = reply.body;
    state.items = editing === null ? state.items.concat([saved]) : state.items.map(i => i.id === saved.id ? saved : i);
    if (state.selected === UNTAGGED && !itemsOf(UNTAGGED).length) state.selected = (saved.concepts || [])[0] || null;
    closeForms();
    renderTopics();
    renderTopic();
    const li = $("editor-question-list").querySelector('li[data-item="' + saved.id + '"]');
    announce((editing === null ? "Question added" : "Question saved") + (li ? "." : "; it no longer practises " +
      nameOf(state.selected) + ", so it is listed under " + saved.concepts.map(nameOf).join(", ") + "."));
    (li || $("editor-questions-title")).focus();
  }

  // -- forms and problems --------------------------------------------------------------------
  // Each form back where the template put it, so no re-rendered list takes it along.
  function homeForms() {
    $("editor-add-topic").after($("editor-topic-form"));
    $("editor-add-question").after($("editor-question-form"));
  }

  function closeForms() {
    homeForms();
    ["editor-topic-form", "editor-question-form"].forEach(id => {
      $(id).hidden = true;
      root.querySelectorAll('[aria-controls="' + id + '"]').forEach(b => b.setAttribute("aria-expanded", "false"));
    });
    $("editor-topic-confirm").hidden = true;
    $("editor-question-list").querySelectorAll(".confirm").forEach(box => box.remove());
    state.editingTopic = null;
    state.editingItem = null;
  }

  function cancel() {
    const opener = state.opener;
    closeForms();
    if (opener && document.contains(opener)) opener.focus();
  }

  function clearProblems(form) {
    const box = form.querySelector(".form-problem");
    box.hidden = true;
    box.replaceChildren();
    form.querySelectorAll(".field-error").forEach(p => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(n => n.removeAttribute("aria-invalid"));
    form.querySelectorAll("[data-error-for]").forEach(n => {
      n.setAttribute("aria-describedby", n.dataset.describedby || "");
      if (!n.dataset.describedby) n.removeAttribute("aria-describedby");
      n.removeAttribute("data-error-for");
    });
  }

  // An error path of the API ("answer.correct", "concepts[1]", "choices[0].text") to the
  // message shown beside its field ("<prefix>-answer-correct-error"), or beside the
  // nearest enclosing one ("choices[0].text": the choices).
  function fieldErrorFor(form, prefix, path) {
    const parts = String(path || "").replace(/\[\d+\]/g, "").split(".").filter(Boolean);
    for (let n = parts.length; n > 0; n--) {
      const found = form.querySelector("#" + prefix + "-" + CSS.escape(parts.slice(0, n).join("-")) + "-error");
      if (found) return found;
    }
    return null;
  }

  // A cycle named by keys ("a -> b -> a"), said with the topics' names as well.
  function withNames(message) {
    const match = /prerequisite cycle: (.*)$/.exec(message);
    if (!match) return message;
    return message + " (" + match[1].split(" -> ").map(nameOf).join(" → ") +
      "): a topic cannot need itself, even through other topics.";
  }

  // The problem's detail and every error (path: message) at the top of the form, and
  // each message again beside its field, which is marked invalid and described by it.
  function showProblems(form, prefix, body) {
    clearProblems(form);
    const box = form.querySelector(".form-problem");
    box.replaceChildren(problemNode(body));
    box.hidden = false;
    ((body && body.errors) || []).forEach(error => {
      const target = fieldErrorFor(form, prefix, error.path);
      if (!target) return;
      const message = (error.path ? error.path + ": " : "") + withNames(error.message);
      target.textContent = target.textContent ? target.textContent + " " + message : message;
      target.hidden = false;
      // A group (fieldset) takes the description; aria-invalid is for the control itself.
      const field = target.closest(".field");
      const control = field.matches("fieldset") ? field : field.querySelector("input, select, textarea");
      if (!control.hasAttribute("data-error-for")) {
        control.dataset.describedby = control.getAttribute("aria-describedby") || "";
        control.setAttribute("data-error-for", target.id);
      }
      if (!field.matches("fieldset")) control.setAttribute("aria-invalid", "true");
      const described = control.dataset.describedby.split(" ").filter(Boolean);
      if (!described.includes(target.id)) described.push(target.id);
      control.setAttribute("aria-describedby", described.join(" "));
    });
    announce("Not saved: " + ((body && (body.detail || body.title)) || "something went wrong."));
    box.focus();
  }

  async function refused(form, prefix, reply) {
    showProblems(form, prefix, reply.body);
    // The graph became shared (another teacher made the course use another's): say so
    // and offer the copy; the refusal stays in the form.
    if (reply.status === 403) {
      const bank = await api("/items");
      if (bank.status === 403) {
        state.editable = false;
        $("editor-shared").hidden = false;
        $("editor-shared-why").textContent = (bank.body && bank.body.detail) || "";
      }
    }
  }

  // -- shared graph: the copy ----------------------------------------------------------------
  async function copyGraph(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.elements.name.value.trim();
    const result = $("editor-copy-result");
    const reply = await api("/concept-graph/copy", json("POST", name ? {name} : {}));
    if (!reply.ok && reply.status !== 409) return result.replaceChildren(problemNode(reply.body));
    const copy = reply.body || {};
    let said = "This course now has its own topics, which you can edit.";
    if (reply.ok) {
      said = "This course now has its own copy: " + count(copy.concepts, "topic", "topics") + ", " +
        count(copy.prerequisites, "prerequisite", "prerequisites") + ", " + count(copy.items_copied, "question", "questions") +
        " copied" + (copy.items_withheld ? "; " + count(copy.items_withheld, "question", "questions") +
          " of the shared bank stayed behind (only its own course's teachers may read their answers)" : "") + ".";
    }
    result.replaceChildren();
    form.reset();
    state.selected = null;
    await load();
    announce(said);
    $("editor-title").focus();
  }

  // -- import and export ----------------------------------------------------------------------
  async function importQuestions(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const result = $("editor-import-result");
    const file = form.elements.file.files[0];
    if (!file) {
      result.replaceChildren(problemNode({detail: "Choose a file to import."}));
      return form.elements.file.focus();
    }
    const content = await file.text();
    const named = file.name.toLowerCase();
    const format = named.endsWith(".csv") ? "csv" : named.endsWith(".json") || /^\s*[{[]/.test(content) ? "json" : "csv";
    const reply = await api("/items/import", json("POST", {format, content}));
    if (!reply.ok) {
      const box = problemNode(reply.body);
      box.setAttribute("tabindex", "-1");
      result.replaceChildren(el("p", {}, "Nothing was imported from " + file.name + ":"), box);
      announce("Nothing imported: " + ((reply.body && reply.body.detail) || "the file was refused."));
      return box.focus();
    }
    form.reset();
    await load();
    const said = "Imported from " + file.name + ": " + count(reply.body.created, "new question", "new questions") +
      ", " + count(reply.body.updated, "question", "questions") + " updated.";
    result.replaceChildren(el("p", {}, said));
    announce(said);
  }

  async function exportQuestions(format) {
    const result = $("editor-export-result");
    let reply;
    try {
      reply = await fetch(base + "/items/export?format=" + format, {headers: {"Authorization": session.authorization}});
    } catch (error) {
      return result.replaceChildren(problemNode({detail: "The tool cannot be reached; check your connection and try again."}));
    }
    if (!reply.ok) return result.replaceChildren(problemNode(await reply.json().catch(() => null)));
    const url = URL.createObjectURL(await reply.blob());
    const link = el("a", {"href": url, "download": "questions-course-" + session.course_id + "." + format});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    result.replaceChildren();
    announce("Questions exported as " + format.toUpperCase() + ".");
  }

  // -- wiring ------------------------------------------------------------------------------------
  const topicForm = $("editor-topic-form");
  topicForm.addEventListener("submit", saveTopic);
  topicForm.elements.name.addEventListener("input", () => {
    if (!state.editingTopic && !state.keyTouched) topicForm.elements.key.value = keyFrom(topicForm.elements.name.value);
  });
  topicForm.elements.key.addEventListener("input", () => { state.keyTouched = true; });
  const questionForm = $("editor-question-form");
  questionForm.addEventListener("submit", saveQuestion);
  questionForm.elements.kind.addEventListener("change", () => showKindFields(questionForm));
  [topicForm, questionForm].forEach(form => {
    form.querySelector(".cancel").addEventListener("click", cancel);
    form.addEventListener("keydown", event => { if (event.key === "Escape") cancel(); });
  });
  $("question-add-choice").addEventListener("click", () => {
    const list = questionForm.querySelector("ol.choices");
    list.append(choiceRow(null, false));
    numberChoices();
    list.lastElementChild.querySelector("input[type=text]").focus();
  });
  $("editor-add-topic").addEventListener("click", event => openTopicForm(null, event.currentTarget));
  $("editor-edit-topic").addEventListener("click", event => openTopicForm(topicOf(state.selected), event.currentTarget));
  $("editor-delete-topic").addEventListener("click", confirmDeleteTopic);
  $("editor-topic-confirm").querySelector(".yes").addEventListener("click", deleteTopic);
  $("editor-topic-confirm").querySelector(".cancel").addEventListener("click", () => {
    $("editor-topic-confirm").hidden = true;
    $("editor-delete-topic").focus();
  });
  $("editor-add-question").addEventListener("click", event => openQuestionForm(null, event.currentTarget));
  $("editor-copy-form").addEventListener("submit", copyGraph);
  $("editor-import-form").addEventListener("submit", importQuestions);
  root.querySelectorAll("button.export").forEach(b => b.addEventListener("click", () => exportQuestions(b.dataset.format)));

  load().finally(() => {
    root.removeAttribute("aria-busy");
    root.dataset.state = "ready";
  });
})();
