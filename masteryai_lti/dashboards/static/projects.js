// What the two Projects panels share (project-based learning: teacher_projects.js on the
// teacher's launch page, student_projects.js on a student's): the rubric as radio
// buttons, the ratings chosen on it, a piece of evidence shown and its file downloaded,
// and a form's problems shown beside its fields. Loaded after dashboard.js (the session,
// text-only page building, problems) and before either panel; a static file, so the
// page's Content-Security-Policy needs no inline script for it.
window.MasteryProjects = (function () {
  "use strict";
  const {el, api, json, problemNode, points, localTime} = window.MasteryDashboard;

  const count = (n, one, many) => n + " " + (n === 1 ? one : many);
  // Scores as the API publishes them and the explanations quote them: two decimals at most.
  const mark = value => String(Math.round(value * 100) / 100);
  // Only web addresses become links: the API accepts no other, and a javascript: or
  // data: address must never be one click away.
  const webAddress = url => /^https?:\/\//i.test(url || "");

  function size(bytes) {
    if (bytes >= 1024 * 1024) return points(bytes / 1024 / 1024) + " MiB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KiB";
    return count(bytes, "byte", "bytes");
  }

  // -- the rubric as radio buttons ------------------------------------------------------------
  // One group per criterion (its name the legend, its description read with it), one
  // radio per level; a level's accessible name is its label and points, its long
  // description read after it. The whole label is the click target. A radio's name is
  // "<prefix>-<criterion key>": chosenRatings reads them back with the form's id.
  function rubricFieldsets(rubric, prefix, chosen) {
    return rubric.criteria.map(criterion => {
      const id = prefix + "-" + criterion.key;
      const set = el("fieldset", {"class": "field rubric-criterion", "data-path": "ratings." + criterion.key});
      set.append(el("legend", {}, criterion.name));
      if (criterion.description) {
        set.append(el("p", {"class": "muted hint", "id": id + "-help"}, criterion.description));
        set.setAttribute("aria-describedby", id + "-help");
      }
      const top = Math.max(...criterion.levels.map(l => l.points));
      criterion.levels.forEach((level, n) => {
        const nameId = id + "-" + n;
        const input = el("input", {"type": "radio", "name": id, "value": String(level.points), "aria-labelledby": nameId});
        if (chosen && Math.abs(chosen[criterion.key] - level.points) < 1e-9) input.checked = true;
        const label = el("label", {"class": "level"}, input,
          el("span", {"class": "level-name", "id": nameId}, level.label + " · " + points(level.points) + " of " + points(top) + " points"));
        if (level.description) {
          label.append(el("span", {"class": "level-text", "id": nameId + "-text"}, level.description));
          input.setAttribute("aria-describedby", nameId + "-text");
        }
        set.append(label);
      });
      set.append(el("p", {"class": "field-error", "id": id + "-error", "hidden": ""}));
      return set;
    });
  }

  // {criterion key: points} from a form built with rubricFieldsets(rubric, form.id), or
  // null after marking, beside it, each criterion left without a level.
  function chosenRatings(form, rubric, announce) {
    const ratings = {}, errors = [];
    rubric.criteria.forEach(criterion => {
      const picked = form.querySelector('input[name="' + form.id + "-" + criterion.key + '"]:checked');
      if (picked) ratings[criterion.key] = Number(picked.value);
      else errors.push({path: "ratings." + criterion.key, message: "Choose a level for " + criterion.name + "."});
    });
    if (!errors.length) return ratings;
    showProblems(form, {detail: "Not saved: every criterion needs a level.", errors}, announce);
    return null;
  }

  // -- evidence -------------------------------------------------------------------------------
  // What a piece of evidence shows: a link (a web address only) with its address, a note
  // with its line breaks, or a file's title with a button that runs `download`.
  function evidenceContent(item, download) {
    if (item.kind === "link") {
      return [webAddress(item.url)
        ? el("a", {"href": item.url, "target": "_blank", "rel": "noopener noreferrer"}, item.title)
        : el("strong", {}, item.title), el("span", {"class": "muted address"}, item.url || "")];
    }
    if (item.kind === "note") return [el("strong", {}, item.title), el("p", {"class": "pre note"}, item.note || "")];
    const button = el("button", {"type": "button", "class": "download"},
      "Download " + (item.filename || "the file") + " (" + size(item.size_bytes || 0) + ")");
    button.addEventListener("click", download);
    return [el("strong", {}, item.title), " ", button];
  }

  // A file needs the session's Authorization header, which a plain link cannot send: it
  // is fetched from `path` (under the course), then saved from an object URL under its
  // own name; `result` (a status) says what happened.
  function downloadEvidence(path, item, result) {
    return downloadFile(path, item.filename || "evidence", result);
  }

  // The name a reply's Content-Disposition gives its file (the server's name for it).
  function attachmentName(headers) {
    const found = /filename="([^"]+)"/.exec(headers.get("Content-Disposition") || "");
    return found ? found[1] : null;
  }

  // Fetches `path` with the session's token and saves it as `name` (null: the name the
  // reply gives it) through an object URL, as a link's download would.
  async function downloadFile(path, name, result) {
    const reply = await api(path, {asFile: true});
    if (!reply.ok) return result.replaceChildren(problemNode(reply.body));
    const saved = name || attachmentName(reply.headers) || "download";
    const url = URL.createObjectURL(reply.blob);
    const link = el("a", {"href": url, "download": saved});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    result.textContent = "Downloaded " + saved + ".";
  }

  // -- a form's problems ----------------------------------------------------------------------
  // A form has a .form-problem box; each field a [data-path] with a .field-error of its own
  // (a child: a field may hold others, as a criterion holds its levels).
  function clearProblems(form) {
    const box = form.querySelector(".form-problem");
    box.hidden = true;
    box.replaceChildren();
    form.querySelectorAll(".field-error").forEach(p => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(n => n.removeAttribute("aria-invalid"));
    form.querySelectorAll("[data-error-for]").forEach(n => {
      if (n.dataset.describedby) n.setAttribute("aria-describedby", n.dataset.describedby);
      else n.removeAttribute("aria-describedby");
      n.removeAttribute("data-error-for");
    });
  }

  // The field an API error path names, or the nearest enclosing one. A path names a field
  // with its indices where the form has one per item ("rubric.criteria[1].levels[0].points"),
  // else without them ("member_ids[1]": the member checkboxes, "ratings.communication").
  function fieldFor(form, path) {
    const parts = String(path || "").split(".").filter(Boolean);
    const find = name => form.querySelector('[data-path="' + CSS.escape(name) + '"]');
    for (let n = parts.length; n > 0; n--) {
      const name = parts.slice(0, n).join(".");
      const found = find(name) || find(name.replace(/\[\d+\]/g, ""));
      if (found) return found;
    }
    return null;
  }

  // The problem's detail and every error at the top of the form (which takes the focus),
  // and each message again beside its field, which is marked invalid and described by it;
  // `announce` says that nothing was saved.
  function showProblems(form, body, announce) {
    clearProblems(form);
    const box = form.querySelector(".form-problem");
    box.replaceChildren(problemNode(body));
    box.hidden = false;
    ((body && body.errors) || []).forEach(error => {
      const field = fieldFor(form, error.path);
      const message = field && field.querySelector(":scope > .field-error");
      if (!message) return;
      message.textContent = message.textContent ? message.textContent + " " + error.message : error.message;
      message.hidden = false;
      const group = field.matches("fieldset");
      const control = group ? field : field.querySelector("input, select, textarea");
      if (!control.hasAttribute("data-error-for")) {
        control.dataset.describedby = control.getAttribute("aria-describedby") || "";
        control.setAttribute("data-error-for", message.id);
      }
      if (!group) control.setAttribute("aria-invalid", "true");
      const described = control.dataset.describedby.split(" ").filter(Boolean);
      if (!described.includes(message.id)) described.push(message.id);
      control.setAttribute("aria-describedby", described.join(" "));
    });
    if (announce) announce("Not saved: " + ((body && (body.detail || body.title)) || "something went wrong."));
    box.focus();
  }

  return {count, mark, webAddress, json, localTime, size, rubricFieldsets, chosenRatings, evidenceContent,
    downloadEvidence, downloadFile, clearProblems, showProblems};
})();
